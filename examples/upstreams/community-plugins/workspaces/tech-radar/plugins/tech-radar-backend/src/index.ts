// Example source of @backstage-community/plugin-tech-radar-backend 1.19.0; the bundled example exports it with a recorded exporter.
export const plugin = '@backstage-community/plugin-tech-radar-backend';
