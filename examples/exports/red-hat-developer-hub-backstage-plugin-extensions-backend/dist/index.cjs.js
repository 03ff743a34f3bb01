module.exports = { packageName: '@red-hat-developer-hub/backstage-plugin-extensions-backend', version: '0.19.1' };
