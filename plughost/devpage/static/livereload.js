// plughost livereload: reload this page when the plugin serving it reloads.
//   <script src="/_plughost/static/livereload.js" data-plugin="NAME"></script>
// Without data-plugin, any plugin's reload refreshes the page. After a server
// restart the page refreshes once the server answers again. While connected,
// <html> carries data-livereload="connected".
"use strict";

(() => {
  const script = document.currentScript;
  const plugin = script && script.dataset.plugin;
  const eventsUrl = new URL("../events", script ? script.src : window.location.href);
  let lost = false;

  function connect() {
    const source = new EventSource(eventsUrl);
    source.addEventListener("open", () => {
      if (lost) window.location.reload();
      document.documentElement.dataset.livereload = "connected";
    });
    source.addEventListener("plugin", (message) => {
      const event = JSON.parse(message.data);
      const ours = !plugin || event.plugin === plugin;
      if (ours && (event.outcome === "loaded" || event.outcome === "reloaded")) {
        window.location.reload();
      }
    });
    source.addEventListener("error", () => {
      lost = true;
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        window.setTimeout(connect, 2000);
      }
    });
  }

  if (window.EventSource) connect();
})();
