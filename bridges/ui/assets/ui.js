// ctirelay dashboard: one EventSource for the summary and the journal, fetch
// for the dead-letter actions. Every fragment it inserts was rendered and
// escaped by the server's html/template; it never builds markup from data.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector("meta[name=csrf]").content;
  const journal = $("journal");
  const keep = 500;
  let paused = false;
  let held = [];

  const val = (id) => $(id).value.trim().toLowerCase();
  function journalMatch(tr) {
    const a = val("j-agent"), k = $("j-kind").value, s = val("j-source");
    return (!a || (tr.dataset.agent || "").toLowerCase().includes(a)) &&
      (!k || tr.dataset.kind === k) &&
      (!s || (tr.dataset.source || "").toLowerCase().includes(s));
  }
  function filterRows(rows, match) {
    for (const tr of rows) tr.hidden = !match(tr);
  }
  const filterJournal = () => filterRows(journal.rows, journalMatch);
  const textMatch = (id) => (tr) => !tr.dataset.text || tr.dataset.text.toLowerCase().includes(val(id));
  const filterAgents = () => filterRows($("agents").querySelectorAll("tbody tr"), textMatch("agent-filter"));
  const filterDead = () => filterRows($("dead").querySelectorAll("tbody tr"), textMatch("dead-filter"));

  function addEntry(html) {
    journal.insertAdjacentHTML("afterbegin", html);
    const tr = journal.firstElementChild;
    if (tr) tr.hidden = !journalMatch(tr);
    while (journal.rows.length > keep) journal.lastElementChild.remove();
  }

  for (const id of ["j-agent", "j-kind", "j-source"]) $(id).addEventListener("input", filterJournal);
  $("agent-filter").addEventListener("input", filterAgents);
  $("dead-filter").addEventListener("input", filterDead);
  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      held.forEach(addEntry);
      held = [];
    }
    $("held").textContent = "";
  });

  const es = new EventSource("stream?after=" + encodeURIComponent(document.body.dataset.after || "0"));
  const conn = $("conn");
  const last = {};
  es.onopen = () => { conn.textContent = "live"; conn.className = "pill ok"; };
  es.onerror = () => { conn.textContent = "reconnecting"; conn.className = "pill bad"; };
  es.addEventListener("summary", (ev) => {
    const parts = JSON.parse(ev.data);
    for (const id in parts) {
      const el = $(id);
      // An unchanged panel is left alone: a button under the pointer stays.
      if (el && last[id] !== parts[id]) {
        el.innerHTML = parts[id];
        last[id] = parts[id];
      }
    }
    filterAgents();
    filterDead();
  });
  es.addEventListener("entry", (ev) => {
    if (paused) {
      held.push(ev.data);
      $("held").textContent = held.length + " held";
    } else {
      addEntry(ev.data);
    }
  });

  // Dead letters: every action goes through the confirmation bar.
  let pending = null;
  function ask(text, body) {
    pending = body;
    $("confirm-text").textContent = text;
    $("confirm").hidden = false;
    $("confirm-yes").focus();
  }
  function matchingCount() {
    let n = 0;
    for (const tr of $("dead").querySelectorAll("tbody tr[data-id]")) if (!tr.hidden) n++;
    return n;
  }
  $("dead").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b) return;
    const id = Number(b.dataset.id);
    ask(b.dataset.action + " dead letter " + id + "?", { action: b.dataset.action, ids: [id] });
  });
  for (const action of ["retry", "drop"]) {
    const b = $(action + "-all");
    if (!b) continue;
    b.addEventListener("click", () => {
      const filter = $("dead-filter").value.trim();
      ask(action + " every dead letter matching \u201c" + filter + "\u201d (" + matchingCount() + " shown)?",
        { action: action, all: true, filter: filter });
    });
  }
  $("confirm-no").addEventListener("click", () => { pending = null; $("confirm").hidden = true; });
  $("confirm-yes").addEventListener("click", async () => {
    const body = pending;
    pending = null;
    $("confirm").hidden = true;
    if (!body) return;
    const result = $("result");
    try {
      const r = await fetch("api/dead", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      const out = await r.json();
      if (!r.ok) throw new Error(out.error || r.statusText);
      result.textContent = (out.action === "retry" ? "retried " : "dropped ") + out.done + " of " + out.matched + " dead letter(s)";
      result.className = "ok";
    } catch (e) {
      result.textContent = body.action + " failed: " + e.message;
      result.className = "error";
    }
  });
})();
