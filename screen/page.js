"use strict";
(function () {
  var token = new URLSearchParams(location.search).get("token");
  var url = "events" + (token ? "?token=" + encodeURIComponent(token) : "");
  var $ = function (id) { return document.getElementById(id); };

  function show(el, text) {
    el.textContent = text || "";
    el.hidden = !text;
  }

  function render(v) {
    document.body.dataset.mode = v.mode;
    document.body.dataset.seq = String(v.seq);
    $("title").textContent = v.title;
    $("reason").textContent = v.reason || "";
    show($("name"), v.name);
    show($("hint"), v.hint);
    show($("fault"), v.fault);
  }

  var es = new EventSource(url);
  es.addEventListener("screen", function (e) {
    $("link").hidden = true;
    render(JSON.parse(e.data));
  });
  es.onerror = function () {
    // EventSource reconnects by itself; say so while it does.
    show($("link"), "reconnecting…");
  };
})();
