module.exports = { packageName: '@backstage-community/plugin-analytics-provider-segment', version: '1.30.0' };
