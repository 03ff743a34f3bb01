module.exports = { packageName: '@backstage-community/plugin-tech-radar-backend', version: '1.19.0' };
