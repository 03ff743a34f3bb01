// Example source of @red-hat-developer-hub/backstage-plugin-extensions 0.19.1; the bundled example exports it with a recorded exporter.
export const plugin = '@red-hat-developer-hub/backstage-plugin-extensions';
