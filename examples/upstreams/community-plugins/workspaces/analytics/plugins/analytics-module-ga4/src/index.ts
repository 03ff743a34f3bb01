// Example source of @backstage-community/plugin-analytics-module-ga4 0.21.0; the bundled example exports it with a recorded exporter.
export const plugin = '@backstage-community/plugin-analytics-module-ga4';
