// Example source of @backstage-community/plugin-scaffolder-backend-module-regex 2.17.0; the bundled example exports it with a recorded exporter.
export const plugin = '@backstage-community/plugin-scaffolder-backend-module-regex';
