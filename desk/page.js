"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var KEY = "kioskd-desk-token";

  // A token in the address (a bookmark) moves to the tab's storage and out
  // of the address bar and history.
  var q = new URLSearchParams(location.search);
  if (q.get("token")) {
    sessionStorage.setItem(KEY, q.get("token"));
    history.replaceState(null, "", location.pathname);
  }

  function api(method, path, body) {
    var opts = { method: method, headers: { "Authorization": "Bearer " + (sessionStorage.getItem(KEY) || "") }, cache: "no-store" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }

  function signedIn(name) {
    $("signin").hidden = true;
    $("desk").hidden = false;
    $("who").textContent = "signed in as " + name;
    $("code").focus();
  }

  function signIn(msg) {
    $("desk").hidden = true;
    $("signin").hidden = false;
    $("who").textContent = "";
    $("signin-msg").textContent = msg || "";
    $("token").focus();
  }

  function whoami() {
    if (!sessionStorage.getItem(KEY)) { signIn(""); return; }
    api("GET", "whoami").then(function (r) {
      if (r.status === 200) signedIn(r.body.name);
      else { sessionStorage.removeItem(KEY); signIn("That token is not a staff token."); }
    }, function () { signIn("The kiosk does not answer."); });
  }

  function result(state, title, name, words, meta) {
    $("result").dataset.state = state;
    $("result-title").textContent = title;
    $("result-name").textContent = name || "";
    $("result-words").textContent = words || "";
    $("result-meta").textContent = meta || "";
  }

  $("signin").addEventListener("submit", function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    whoami();
  });

  // A handheld scanner types the code and Enter into the focused field:
  // Enter submits this form.
  $("check").addEventListener("submit", function (e) {
    e.preventDefault();
    var code = $("code").value;
    $("code").value = ""; // never left on screen
    if (!code.trim()) return;
    result("busy", "Checking…", "", "", "");
    api("POST", "check", { code: code }).then(function (r) {
      if (r.status === 401) { signIn("Sign in again."); return; }
      if (r.status !== 200) { result("error", "Error", "", r.body.error || ("HTTP " + r.status), ""); return; }
      var v = r.body;
      result(v.accept ? "accept" : "reject", v.title, v.name, v.words,
        v.reason + " · " + v.at + (v.warning ? " · " + v.warning : ""));
    }, function () { result("error", "Error", "", "The kiosk does not answer.", ""); })
      .then(function () { $("code").focus(); });
  });

  $("open").addEventListener("submit", function (e) {
    e.preventDefault();
    var reason = $("reason").value.trim();
    if (reason.length < 3) { $("open-msg").textContent = "A reason is required."; return; }
    $("open-msg").textContent = "Opening…";
    api("POST", "open", { reason: reason }).then(function (r) {
      if (r.status === 401) { signIn("Sign in again."); return; }
      if (r.status === 200) { $("reason").value = ""; $("open-msg").textContent = r.body.words + " at " + r.body.at; }
      else $("open-msg").textContent = r.body.error || ("HTTP " + r.status);
    }, function () { $("open-msg").textContent = "The kiosk does not answer."; })
      .then(function () { $("code").focus(); });
  });

  $("signout").addEventListener("click", function () {
    sessionStorage.removeItem(KEY);
    signIn("Signed out.");
  });

  whoami();
})();
