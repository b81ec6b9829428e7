// plughost's live page: follow the server's events and swap in the fresh page's <main>.
// The server renders everything; this only keeps the open page current. No build step.
"use strict";

(() => {
  const eventsUrl = document.documentElement.dataset.events;
  const connection = document.getElementById("connection");
  const announce = document.getElementById("announce");
  let source = null;
  let lost = false;
  let refreshing = null;
  let again = false;

  function setConnection(live, text) {
    connection.dataset.live = live ? "yes" : "no";
    connection.textContent = text;
  }

  async function refresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        const response = await fetch(window.location.pathname, {
          cache: "no-store",
          headers: { Accept: "text/html" },
        });
        if (!response.ok) return;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        const main = fresh.getElementById("content");
        if (!main) return;
        const focused = document.activeElement && document.activeElement.id;
        document.getElementById("content").replaceWith(document.adoptNode(main));
        document.title = fresh.title;
        if (focused) document.getElementById(focused)?.focus({ preventScroll: true });
      } while (again);
    })().catch(() => {}).finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  function describe(event) {
    const version = event.version ? ` v${event.version}` : "";
    switch (event.outcome) {
      case "refused": return `${event.plugin}: the edit failed; v${event.version} keeps serving`;
      case "failed": return `${event.plugin} failed to load`;
      case "missing": return `${event.plugin}: its file is missing`;
      default: return `${event.plugin} ${event.outcome}${version}`;
    }
  }

  function connect() {
    source = new EventSource(eventsUrl);
    source.addEventListener("open", () => {
      setConnection(true, "Live: this page updates as plugins load, reload and fail.");
      if (lost) {
        lost = false;
        refresh();  // the server may have restarted: show what it serves now
      }
    });
    source.addEventListener("plugin", (message) => {
      announce.textContent = describe(JSON.parse(message.data));
      refresh();
    });
    source.addEventListener("error", () => {
      lost = true;
      setConnection(false, "Server unreachable: reconnecting…");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (the server answered with an error): try again ourselves.
        source.close();
        window.setTimeout(connect, 2000);
      }
    });
  }

  if (eventsUrl && window.EventSource) connect();
})();
