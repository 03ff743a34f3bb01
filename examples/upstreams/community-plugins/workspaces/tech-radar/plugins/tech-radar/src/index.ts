// Example source of @backstage-community/plugin-tech-radar 1.20.0; the bundled example exports it with a recorded exporter.
export const plugin = '@backstage-community/plugin-tech-radar';
