// Example source of @backstage-community/plugin-analytics-module-newrelic-browser 0.21.0; the bundled example exports it with a recorded exporter.
export const plugin = '@backstage-community/plugin-analytics-module-newrelic-browser';
