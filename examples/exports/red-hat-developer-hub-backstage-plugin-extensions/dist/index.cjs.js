module.exports = { packageName: '@red-hat-developer-hub/backstage-plugin-extensions', version: '0.19.1' };
