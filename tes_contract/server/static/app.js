// The dashboard's entry module: adopt the dev token from the URL fragment, then define the elements (imported
// after, so each panel reads its lock with the token already in sessionStorage).

import { adoptToken } from "./api.js";

adoptToken();

await Promise.all([import("./system-status.js"), import("./status-history.js"), import("./tmux-panel.js"),
  import("./worker-panel.js")]);
document.documentElement.dataset.ready = "true";
