// Strait console: progressive enhancement only; every form works without it.
// - Parts of a page marked data-live (with an id) are refreshed once a second
//   from the same URL, unless the user is typing in them; when such parts
//   appear or disappear, the page is loaded again.
// - Copy buttons copy their data-copy text.
// - A select marked data-autosubmit submits its form when changed.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function showCopyButtons(root) {
    root.querySelectorAll("button.copy[hidden]").forEach(function (b) { b.hidden = false; });
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.copy");
    if (!b) return;
    var text = b.getAttribute("data-copy");
    var done = function () {
      b.textContent = "Copied";
      setTimeout(function () { b.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  });

  function fallbackCopy(text) {
    var t = document.createElement("textarea");
    t.value = text;
    t.setAttribute("readonly", "");
    t.className = "visually-hidden";
    document.body.appendChild(t);
    t.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(t);
  }

  document.addEventListener("change", function (ev) {
    if (ev.target.matches("select[data-autosubmit]")) ev.target.form.submit();
  });

  var busy = false;
  function refresh() {
    var live = document.querySelectorAll("[data-live][id]");
    if (live.length === 0 || busy || document.hidden) return;
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { "X-Console-Live": "1" } })
      .then(function (resp) {
        if (resp.redirected || !resp.ok) return null;
        return resp.text();
      })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        // A part that appeared or went away (a resource created or deleted
        // meanwhile) changes the page's layout: load it again as a whole.
        var ids = function (root) {
          return Array.prototype.map.call(root.querySelectorAll("[data-live][id]"), function (e) { return e.id; }).join(" ");
        };
        if (ids(doc) !== ids(document)) {
          window.location.reload();
          return;
        }
        live.forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (!fresh || fresh.innerHTML === el.liveHTML) return;
          if (el.contains(document.activeElement) && document.activeElement !== document.body) return;
          el.innerHTML = fresh.innerHTML;
          el.liveHTML = fresh.innerHTML;
          showCopyButtons(el);
        });
        document.documentElement.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next tick tries again */ })
      .finally(function () { busy = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // What the server sent, to tell a changed part from one only enhanced here.
    document.querySelectorAll("[data-live][id]").forEach(function (el) { el.liveHTML = el.innerHTML; });
    showCopyButtons(document);
    setInterval(refresh, 1000);
  });
})();
