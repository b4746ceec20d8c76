// Unpacks a case of a packed report (see htmlpack.go) when it is opened or
// named by the URL's anchor. Texts go back as text nodes, never as markup.
"use strict";
(function () {
  var strings = null;
  function unzip(id) {
    var el = document.getElementById(id);
    if (!el) return Promise.reject(new Error("no " + id));
    var bin = atob(el.textContent), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  function table() {
    if (!strings) strings = unzip("z-strings").then(JSON.parse);
    return strings;
  }
  function load(d) {
    if (d.dataset.unpacked) return d.unpacking;
    d.dataset.unpacked = "1";
    var body = d.querySelector(".body");
    body.textContent = "unpacking…";
    d.unpacking = Promise.all([unzip("z-" + d.id), table()]).then(function (r) {
      body.innerHTML = r[0];
      var refs = body.querySelectorAll("x-s");
      for (var i = 0; i < refs.length; i++) refs[i].replaceWith(r[1][+refs[i].getAttribute("i")]);
      var imgs = body.querySelectorAll("img[data-s]");
      for (var j = 0; j < imgs.length; j++) imgs[j].src = r[1][+imgs[j].getAttribute("data-s")];
    }).catch(function (e) {
      body.textContent = "this browser could not unpack the case (" + e + "); the jsonl report holds it";
    });
    return d.unpacking;
  }
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (d.classList && d.classList.contains("case") && d.open) load(d);
  }, true);
  function go() {
    var id = decodeURIComponent(location.hash.slice(1)), m = /^case-\d+/.exec(id);
    if (!m) return;
    var d = document.getElementById(m[0]);
    if (!d) return;
    d.open = true;
    load(d).then(function () {
      var t = document.getElementById(id);
      if (!t) return;
      for (var p = t; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
      t.scrollIntoView();
    });
  }
  window.addEventListener("hashchange", go);
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[href^='#case-']");
    if (a && a.getAttribute("href") === location.hash) go();
  });
  go();
})();
