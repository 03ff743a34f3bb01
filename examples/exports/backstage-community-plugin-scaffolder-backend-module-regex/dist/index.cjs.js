module.exports = { packageName: '@backstage-community/plugin-scaffolder-backend-module-regex', version: '2.17.0' };
