// Copies the browser builds of the npm packages into static/vendor (ignored by git).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

const files = {
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
  "sortablejs/Sortable.min.js": "Sortable.min.js",
  "chart.js/dist/chart.umd.js": "chart.umd.js",
  // chart.umd.js names its source map; collectstatic's manifest storage needs the file present.
  "chart.js/dist/chart.umd.js.map": "chart.umd.js.map",
};
const target = join("static", "vendor");
mkdirSync(target, { recursive: true });
for (const [source, name] of Object.entries(files)) {
  const destination = join(target, name);
  mkdirSync(dirname(destination), { recursive: true });
  copyFileSync(join("node_modules", source), destination);
}
console.log(`copied ${Object.keys(files).length} front-end files into ${target}`);
