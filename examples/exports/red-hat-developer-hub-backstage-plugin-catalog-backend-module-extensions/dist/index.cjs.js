module.exports = { packageName: '@red-hat-developer-hub/backstage-plugin-catalog-backend-module-extensions', version: '0.19.1' };
