// Example source of @backstage-community/plugin-analytics-provider-segment 1.30.0; the bundled example exports it with a recorded exporter.
export const plugin = '@backstage-community/plugin-analytics-provider-segment';
