module.exports = { packageName: '@backstage-community/plugin-tech-radar', version: '1.20.0' };
