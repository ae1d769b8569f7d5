// The vault's web page: search as you type, dropping files, backup progress.
// Plain JavaScript, served from the package; nothing is fetched from elsewhere.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const headers = { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" };

  function get(url) {
    return fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" });
  }

  // --- search as you type ---------------------------------------------------------
  const form = document.getElementById("search");
  if (form) {
    const box = document.getElementById("q");
    const results = document.getElementById("results");
    let current = null;
    let asked = 0;
    let last = null;
    function search() {
      const params = new URLSearchParams(new FormData(form));
      if (params.toString() === last) return;  // nothing changed: keep the results (and focus)
      last = params.toString();
      if (current) current.abort();
      current = new AbortController();
      const mine = ++asked;
      fetch("/results?" + params.toString(), { headers: headers, signal: current.signal,
                                                  credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (r.status === 401) { window.location = "/"; return null; }
          return r.text();
        })
        .then(function (html) {
          if (html === null || mine !== asked) return;
          results.innerHTML = html;  // made on the server, every text escaped
          results.dataset.shown = String(mine);
          results.dispatchEvent(new CustomEvent("shown", { detail: { query: box.value } }));
          // The address keeps the search (Back from a document returns to it),
          // set once the results are in, not before the request goes.
          history.replaceState(null, "", "/?" + params.toString());
        })
        .catch(function (e) {
          if (e.name !== "AbortError") { last = null; results.textContent = "The search did not work; try again."; }
        });
    }
    form.addEventListener("input", search);
    form.addEventListener("change", search);
    form.addEventListener("submit", function (e) { e.preventDefault(); search(); });
    if (box.value) search();
    form.dataset.ready = "yes";  // listening now (a script, or a quick hand, may wait for it)
  }

  // --- storing dropped files ---------------------------------------------------------
  const drop = document.getElementById("drop");
  if (drop) {
    const list = document.getElementById("progress");
    const rows = {};
    let polling = null;
    function row(key, name) {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = name;
      const bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", name);
      const note = document.createElement("span");
      note.className = "note";
      note.textContent = " waiting";
      item.append(label, note, bar);
      list.append(item);
      rows[key] = { item: item, bar: bar, note: note };
      return rows[key];
    }
    function send(file, name) {
      const shown = row("u" + Math.random(), name);
      const params = new URLSearchParams({ name: name, type: document.getElementById("store-type").value,
                                           family: document.getElementById("store-family").value });
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", "/store/upload?" + params.toString());
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("X-Requested-With", "fetch");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { shown.bar.value = Math.round(50 * e.loaded / e.total); shown.note.textContent = " sending"; }
      };
      xhr.onload = function () {
        let answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = {}; }
        if (xhr.status !== 200) { shown.note.textContent = " not stored: " + (answer.error || "it could not be sent"); shown.bar.value = 0; return; }
        rows["job" + answer.number] = shown;
        shown.bar.value = 50;
        shown.note.textContent = " waiting to be read";
        poll();
      };
      xhr.onerror = function () { shown.note.textContent = " not sent: the vault program is not running"; };
      xhr.send(file);
    }
    function poll() {
      if (polling) return;
      polling = setInterval(function () {
        get("/store/progress").then(function (r) { return r.json(); }).then(function (data) {
          let busy = false;
          data.files.forEach(function (job) {
            const shown = rows["job" + job.number];
            if (!shown) return;
            if (job.state === "reading") {
              busy = true;
              shown.bar.value = job.pages ? 50 + Math.round(50 * job.page / job.pages) : 55;
              shown.note.textContent = job.pages ? " reading page " + job.page + " of " + job.pages : " reading";
            } else if (job.state === "waiting") {
              busy = true;
            } else if (job.state === "stored") {
              shown.bar.value = 100;
              shown.note.textContent = " stored: " + job.message;
              shown.item.className = "done";
            } else {
              shown.bar.value = 0;
              shown.note.textContent = " not stored: " + job.message;
              shown.item.className = "problem";
            }
          });
          if (!busy) { clearInterval(polling); polling = null; }
        });
      }, 500);
    }
    function walk(entry, into) {
      return new Promise(function (done) {
        if (entry.isFile) { entry.file(function (f) { into.push([f, entry.fullPath.replace(/^\//, "")]); done(); }, function () { done(); }); return; }
        if (!entry.isDirectory) { done(); return; }
        const reader = entry.createReader();
        const all = [];
        (function more() {
          reader.readEntries(function (found) {
            if (!found.length) { Promise.all(all.map(function (e) { return walk(e, into); })).then(done); return; }
            all.push.apply(all, found); more();
          }, function () { done(); });
        })();
      });
    }
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    // Files in folders as 'vault ingest FOLDER' takes them: in order of their
    // paths, hidden ones (a name starting with ".") left out.
    function hidden(path) { return path.split("/").some(function (part) { return part.charAt(0) === "."; }); }
    function sendAll(found) {  // [file, path inside what was dropped]
      found.filter(function (p) { return !hidden(p[1]); })
        .sort(function (a, b) { return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0; })
        .forEach(function (p) { send(p[0], p[0].name); });
    }
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.classList.remove("over");
      const entries = Array.from(e.dataTransfer.items || []).map(function (i) { return i.webkitGetAsEntry && i.webkitGetAsEntry(); });
      if (entries.length && entries[0]) {
        const files = [];
        Promise.all(entries.filter(Boolean).map(function (en) { return walk(en, files); })).then(function () {
          sendAll(files);
        });
      } else {
        sendAll(Array.from(e.dataTransfer.files).map(function (f) { return [f, f.name]; }));
      }
    });
    ["files", "folder"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", function (e) {
        sendAll(Array.from(e.target.files).map(function (f) { return [f, f.webkitRelativePath || f.name]; }));
        e.target.value = "";
      });
    });
    drop.dataset.ready = "yes";
  }

  // --- back up now ---------------------------------------------------------------------
  const backup = document.getElementById("backup");
  if (backup) {
    const panel = document.getElementById("backup-progress");
    const line = document.getElementById("backup-line");
    const bar = document.getElementById("backup-bar");
    const messages = document.getElementById("backup-messages");
    const button = backup.querySelector("button");
    function follow() {
      const timer = setInterval(function () {
        get("/backups/progress").then(function (r) { return r.json(); }).then(function (p) {
          panel.hidden = false;
          if (p.total_bytes) bar.value = Math.round(100 * p.done_bytes / p.total_bytes);
          line.textContent = p.running ? "Backing up to " + (p.remote || "the backup") + ": " + p.files + " of " + p.total_files + " files" : "Finished.";
          messages.replaceChildren.apply(messages, p.messages.map(function (m) { const li = document.createElement("li"); li.textContent = m; return li; }));
          if (!p.running) { clearInterval(timer); bar.value = 100; button.disabled = false; }
        });
      }, 500);
    }
    backup.addEventListener("submit", function (e) {
      e.preventDefault();
      button.disabled = true;
      fetch("/backups/run", { method: "POST", headers: headers, credentials: "same-origin" }).then(follow);
    });
    if (button.disabled) follow();
    backup.dataset.ready = "yes";
  }
})();
