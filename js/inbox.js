// The "RunningHub" sidebar tab: every journaled task (newest first, live while tasks run), what the
// day and month cost, a first-frame thumbnail and player for saved videos, copy id, one-click
// recovery of a paid task whose file is missing, help for a submit that got no answer, and the
// references converted for real people (thumbnail, site, asset id, state, when; delete).
// Also the daily budget entries in Settings → RunningHub. Data: the pack's /runninghub/tasks and
// /runninghub/budget routes (journal only, never the key). Text: ./inbox_format.js (en, zh).
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { languageOf, SITES, siteSettings } from "./format.js";
import { call } from "./routes.js";
import {
  assetLine, batchItemLabel, batchLine, budgetSetting, budgetText, formatTime, groupTasks, hostOf, metaLine, optionsText, stateLabel,
  totalsText, tt,
} from "./inbox_format.js";

const PAGE = 50;
const POLL_MS = 2000;  // while the tab is open: states, costs and new tasks appear within 2 s
const COLORS = {
  saved: "#4ade80", pending: "#60a5fa", ready: "#fbbf24", failed: "#f87171", ambiguous: "#fb923c",
  expired: "#9ca3af", submitting: "#60a5fa", unknown: "#c084fc",
};

const locale = () => app.extensionManager?.setting?.get("Comfy.Locale") || navigator.language;
const lang = () => languageOf(locale());

function el(tag, props = {}, style = "", children = []) {
  const node = Object.assign(document.createElement(tag), props);
  if (style) node.style.cssText = style;
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== ""));
  return node;
}

const BUTTON = "padding:2px 8px;border-radius:6px;border:1px solid var(--border-color);font-size:12px;" +
  "background:var(--comfy-input-bg);color:var(--input-text);cursor:pointer;white-space:nowrap";
const MUTED = "opacity:0.75;font-size:12px";
const SETTING_BUTTON = ";padding:4px 10px;font-size:inherit";  // as the key panel's buttons

function button(text, onclick, extra = "") {
  return el("button", { type: "button", textContent: text, onclick }, BUTTON + extra);
}

async function copy(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {  // no clipboard permission (http on another host): select-and-copy fallback
    const area = el("textarea", { value: text }, "position:fixed;opacity:0");
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const old = btn.textContent;
  btn.textContent = tt(lang(), "copied");
  setTimeout(() => { btn.textContent = old; }, 1200);
}

const query = (task) => new URLSearchParams({ site: task.site, task_id: task.task_id });

// --- one task ------------------------------------------------------------------------------
function taskCard(task, inbox, inBatch = false) {
  const L = lang();
  const color = COLORS[task.recovering ? "pending" : task.phase] || COLORS.unknown;
  const card = el("div", { className: "runninghub-task" },
    "display:flex;gap:8px;padding:8px;border-bottom:1px solid var(--border-color)");
  card.dataset.row = task.row;
  card.dataset.phase = task.phase;
  if (task.video_path && task.task_id) {
    const thumb = el("img", { src: api.apiURL(`/runninghub/tasks/thumb?${query(task)}`), alt: "", title: task.file_name },
      "width:96px;height:auto;max-height:96px;object-fit:cover;border-radius:4px;cursor:pointer;flex:none");
    thumb.onclick = () => inbox.togglePlayer(card, task);
    card.append(thumb);
  }
  const body = el("div", {}, "flex:1;min-width:0;display:flex;flex-direction:column;gap:3px");
  const badge = el("span", { className: "runninghub-state", textContent: stateLabel(task, L) },
    `color:${color};font-weight:600;font-size:12px`);
  const model = el("span", { textContent: task.model }, MUTED + ";overflow:hidden;text-overflow:ellipsis");
  // its place in a batch, shown under the batch's header only: a lone run (ComfyUI gives every call a list
  // index) or a batch of one is no group
  const item = inBatch && task.batch?.item ? [el("span", { textContent: batchItemLabel(task.batch.item, L) }, MUTED)] : [];
  body.append(el("div", {}, "display:flex;gap:6px;align-items:baseline;flex-wrap:wrap", [badge, model, ...item]));
  if (task.prompt) body.append(el("div", { textContent: task.prompt, title: task.prompt },
    "font-size:13px;overflow:hidden;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical"));
  const options = optionsText(task.options, L);
  if (options) body.append(el("div", { textContent: options }, MUTED));
  const meta = el("div", { className: "runninghub-meta", textContent: metaLine(task, L) }, MUTED);
  body.append(meta);
  if (task.error && !["ambiguous", "saved"].includes(task.phase)) {  // the kept English message on hover
    body.append(el("div", { className: "runninghub-error", textContent: task.error, title: task.error_detail || "" },
      "color:#f87171;font-size:12px"));
  }
  if (task.recover_error) body.append(el("div", { textContent: tt(L, "failedRecover", { error: task.recover_error }) }, "color:#f87171;font-size:12px"));

  const actions = el("div", {}, "display:flex;gap:6px;flex-wrap:wrap;align-items:center;margin-top:2px");
  if (task.task_id) {
    actions.append(el("code", { textContent: task.task_id }, "font-size:11px;opacity:0.8"));
    const copyBtn = button(tt(L, "copyId"), () => copy(task.task_id, copyBtn));
    actions.append(copyBtn);
  }
  if (task.video_path) {
    actions.append(button(tt(L, "play"), () => inbox.togglePlayer(card, task)));
    const pathBtn = button(tt(L, "copyPath"), () => copy(task.video_path, pathBtn));
    pathBtn.title = task.video_path;
    actions.append(pathBtn);
  }
  if (task.recoverable) {
    const recover = button(tt(L, "recover"), () => inbox.recover(task, null, recover), ";border-color:#4ade80");
    recover.title = tt(L, "recoverHint");
    recover.className = "runninghub-recover";
    actions.append(recover);
  }
  if (task.task_id) {
    actions.append(el("a", { href: task.lookup_url, target: "_blank", rel: "noopener noreferrer",
      textContent: tt(L, "lookUp", { host: hostOf(task.lookup_url) }) }, "font-size:12px;color:var(--p-primary-color, #60a5fa)"));
  }
  body.append(actions);
  if (task.phase === "ambiguous") body.append(ambiguousHelp(task, inbox));
  if (task.video_path) body.append(el("div", { textContent: task.video_path }, MUTED + ";font-size:11px;word-break:break-all"));
  card.append(body);
  card.__meta = meta;
  card.__task = task;
  return card;
}

function ambiguousHelp(task, inbox) {
  const L = lang();
  const host = hostOf(task.lookup_url);
  const box = el("div", { className: "runninghub-ambiguous" },
    "display:flex;flex-direction:column;gap:4px;padding:6px;border:1px dashed #fb923c;border-radius:6px;font-size:12px");
  const help = el("div", { textContent: tt(L, "ambiguousHelp", { host, time: formatTime(task.created_at) }) });
  const link = el("a", { href: task.lookup_url, target: "_blank", rel: "noopener noreferrer", textContent: task.lookup_url },
    "color:var(--p-primary-color, #60a5fa)");
  const input = el("input", { type: "text", placeholder: tt(L, "pasteId"), inputMode: "numeric", spellcheck: false },
    "flex:1;min-width:0;padding:2px 6px;border-radius:6px;border:1px solid var(--border-color);" +
    "background:var(--comfy-input-bg);color:var(--input-text)");
  const use = button(tt(L, "useId"), () => input.value.trim() && inbox.recover({ ...task, task_id: input.value.trim() }, task.row, use));
  box.append(help, link, el("div", {}, "display:flex;gap:6px", [input, use]));
  return box;
}

// --- one converted reference (real people) ------------------------------------------------
function assetCard(asset, inbox) {
  const L = lang();
  const card = el("div", { className: "runninghub-asset" },
    "display:flex;gap:8px;padding:6px 8px;border-bottom:1px solid var(--border-color);align-items:center");
  if (asset.has_thumb && asset.asset_id) {
    const q = new URLSearchParams({ site: asset.site, asset_id: asset.asset_id });
    card.append(el("img", { src: api.apiURL(`/runninghub/assets/thumb?${q}`), alt: "" },
      "width:48px;height:48px;object-fit:cover;border-radius:4px;flex:none"));
  }
  const body = el("div", {}, "flex:1;min-width:0;display:flex;flex-direction:column;gap:2px;font-size:12px", [
    el("div", { textContent: assetLine(asset, L) }),
    el("code", { textContent: asset.asset_id ? tt(L, "assetId", { id: asset.asset_id }) : tt(L, "assetCreating") },
      "font-size:11px;opacity:0.8"),
    asset.reason ? el("div", { textContent: asset.reason }, "color:#f87171") : null,
  ]);
  card.append(body);
  if (asset.asset_id) {
    const del = button(tt(L, "deleteAsset"), () => inbox.deleteAsset(asset, del));
    del.className = "runninghub-asset-delete";
    card.append(del);
  }
  return card;
}

// --- the tab -------------------------------------------------------------------------------
class Inbox {
  constructor(root) {
    this.root = root;
    this.cards = new Map();  // row -> card, rebuilt only when the task changed
    this.limit = PAGE;
    this.next = null;
    this.lang = lang();
    this.header = el("div", {}, "display:flex;justify-content:space-between;align-items:center;padding:8px;gap:8px");
    this.totals = el("div", { className: "runninghub-totals" }, "padding:0 8px 8px;font-size:12px;display:flex;flex-direction:column;gap:2px;border-bottom:1px solid var(--border-color)");
    this.list = el("div", { className: "runninghub-tasks" });
    this.assets = el("details", { className: "runninghub-assets" }, "display:none;border-bottom:1px solid var(--border-color)");
    this.assetsSignature = "";
    this.more = button("", () => { this.limit += PAGE; this.refresh(); }, ";margin:8px");
    root.style.cssText = "display:flex;flex-direction:column;height:100%;overflow-y:auto;color:var(--fg-color)";
    root.append(this.header, this.totals, this.assets, this.list, this.more);
    this.renderHeader();
    this.refresh();
    this.poll = setInterval(() => this.root.isConnected ? this.refresh() : this.stop(), POLL_MS);
    this.tick = setInterval(() => this.ticking(), 1000);
  }

  stop() {
    clearInterval(this.poll);
    clearInterval(this.tick);
  }

  renderHeader() {
    const L = this.lang;
    this.header.replaceChildren(
      el("span", { textContent: tt(L, "title") }, "font-weight:600"),
      button(tt(L, "refresh"), () => this.refresh()),
    );
    this.more.textContent = tt(L, "loadMore");
  }

  async refresh() {
    let data;
    try {
      data = await call(`/tasks?limit=${this.limit}&locale=${lang()}`);  // reasons and errors in the tab's language
    } catch {
      return;  // the server restarts: the next poll tries again
    }
    if (data.error) {
      this.totals.textContent = data.error;
      return;
    }
    if (lang() !== this.lang) {  // the user switched ComfyUI's language: redraw everything
      this.lang = lang();
      this.cards.clear();
      this.renderHeader();
    }
    this.renderTotals(data);
    this.renderTasks(data.tasks, data.batches);
    this.more.style.display = data.next ? "" : "none";
    this.refreshAssets();
  }

  async refreshAssets() {
    let data;
    try {
      data = await call("/assets");
    } catch {
      return;
    }
    const assets = data.assets || [];
    const signature = JSON.stringify([this.lang, assets]);
    if (signature === this.assetsSignature) return;  // unchanged: keep the section (and its open state)
    this.assetsSignature = signature;
    this.assets.style.display = assets.length ? "" : "none";
    const L = this.lang;
    this.assets.replaceChildren(
      el("summary", { textContent: tt(L, "assetsTitle", { n: assets.length }) }, "padding:6px 8px;cursor:pointer;font-size:12px"),
      el("div", { textContent: tt(L, "assetsHint") }, MUTED + ";padding:0 8px 4px"),
      ...assets.map((asset) => assetCard(asset, this)),
    );
  }

  async deleteAsset(asset, btn) {
    if (!confirm(tt(this.lang, "deleteAssetConfirm", { id: asset.asset_id }))) return;
    btn.disabled = true;
    const answer = await call("/assets/delete", { site: asset.site, asset_id: asset.asset_id, locale: locale() });
    if (answer.error) {
      btn.disabled = false;
      alert(answer.error);
    }
    this.refreshAssets();
  }

  renderTotals(data) {
    const L = this.lang;
    const lines = [
      tt(L, "today", { spent: totalsText(data.totals?.today, L) }),
      tt(L, "month", { spent: totalsText(data.totals?.month, L) }),
      ...Object.values(data.budgets || {}).map((b) => budgetText(b, L)).filter(Boolean),
      ...(data.budget_error ? [data.budget_error] : []),  // a damaged budget file: every run is refused
      ...(this.budgetNote ? [this.budgetNote] : []),  // where the damaged file went, once set again here
    ];
    const signature = JSON.stringify([L, lines]);
    if (signature === this.totalsSignature) return;  // unchanged: keep what is being typed in the form below
    this.totalsSignature = signature;
    this.totals.replaceChildren(...lines.map((line) => el("div", { textContent: line })),
      ...(data.budget_error ? [this.budgetFix()] : []));
  }

  /** Under a damaged budget file's line: set each site's budget again from here, as in Settings. */
  budgetFix() {
    if (this.fix?.lang !== this.lang) {
      const done = (answer) => { this.budgetNote = answer?.note ?? ""; this.refresh(); };
      this.fix = { lang: this.lang, form: el("details", { className: "runninghub-budget-fix" }, "padding-top:4px", [
        el("summary", { textContent: tt(this.lang, "budgetResetTitle") }, "cursor:pointer"),
        ...Object.keys(SITES).map((site) => el("div", {}, "padding:4px 0", [
          el("div", { textContent: tt(this.lang, "budgetName", { site }) }, MUTED), budgetReset(site, done)])),
      ]) };
    }
    return this.fix.form;
  }

  renderTasks(tasks, batches = []) {
    if (!tasks.length) {
      this.list.replaceChildren(el("div", { textContent: tt(this.lang, "empty") }, MUTED + ";padding:8px"));
      this.cards.clear();
      return;
    }
    const seen = new Set();
    const ordered = groupTasks(tasks, batches).map(({ task, batch, inBatch }) => {
      if (batch) return this.batchHeader(batch, seen);
      seen.add(task.row);
      const signature = JSON.stringify({ ...task, inBatch, elapsed_s: task.finished_at ? task.elapsed_s : null });
      let card = this.cards.get(task.row);
      if (!card || card.__signature !== signature) {
        const player = card?.__player;  // keep a playing video across a refresh
        card = taskCard(task, this, inBatch);
        if (player && task.video_path) this.togglePlayer(card, task);
        card.__signature = signature;
        this.cards.set(task.row, card);
      }
      card.style.marginLeft = inBatch ? "10px" : "";  // a batch's tasks sit under its header
      return card;
    });
    for (const row of [...this.cards.keys()]) if (!seen.has(row)) this.cards.delete(row);
    const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
    if (ordered.some((card, i) => this.list.children[i] !== card) || this.list.children.length !== ordered.length) {
      this.list.replaceChildren(...ordered);
      focused?.focus?.();
    }
  }

  batchHeader(batch, seen) {
    const key = `batch:${batch.id}`;
    seen.add(key);
    const text = batchLine(batch, this.lang);
    let header = this.cards.get(key);
    if (!header || header.textContent !== text) {
      header = el("div", { className: "runninghub-batch", textContent: text, title: batch.id },
        "padding:6px 8px 2px;font-size:12px;font-weight:600");
      this.cards.set(key, header);
    }
    return header;
  }

  ticking() {
    const now = Date.now() / 1000;
    for (const card of this.cards.values()) {
      if (card.__task?.phase === "pending") card.__meta.textContent = metaLine(card.__task, this.lang, now);
    }
  }

  togglePlayer(card, task) {
    if (card.__player) {
      card.__player.remove();
      card.__player = null;
      return;
    }
    const video = el("video", { src: api.apiURL(`/runninghub/tasks/video?${query(task)}`), controls: true, autoplay: true },
      "width:100%;max-height:240px;border-radius:4px;margin-top:4px");
    card.__player = video;
    card.lastElementChild.append(video);
  }

  async recover(task, row, btn) {
    btn.disabled = true;
    btn.textContent = tt(this.lang, "recovering");
    const answer = await call("/tasks/recover", { site: task.site, task_id: task.task_id, row, locale: locale() });
    if (answer.error) {
      btn.disabled = false;
      btn.textContent = tt(this.lang, "recover");
      btn.title = answer.error;
      alert(answer.error);
    }
    this.refresh();
  }
}

// --- settings: the daily budget of each site ---------------------------------------------
const INPUT = "flex:1;min-width:0;padding:4px 8px;border-radius:6px;border:1px solid var(--border-color);" +
  "background:var(--comfy-input-bg);color:var(--input-text)";
const DAMAGED = "budget_file";  // the budget routes' code for a damaged budget file: every run is refused

// While the budget file is damaged: set the budget of `site` again (the server keeps the damaged
// file aside). An amount, or "No budget" confirmed: an empty amount never turns the budget off.
// `done(answer)`: the budgets as they are now, with the note saying where the damaged file went.
function budgetReset(site, done) {
  const L = lang();
  const input = el("input", { type: "number", min: "0", step: "0.01", className: "runninghub-budget-reset-input",
    placeholder: tt(L, "budgetResetPlaceholder") }, INPUT);
  const said = el("div", { className: "runninghub-budget-reset-error" }, "font-size:0.9em;color:#f87171");
  const answer = (data) => {
    said.textContent = data?.error ?? "";
    if (!data?.error) done(data);
  };
  const send = (choice) => call("/budget/reset", { site, ...choice, locale: locale() })
    .then(answer, () => answer({ error: tt(lang(), "budgetUnanswered") }));
  const again = button(tt(L, "budgetReset"), () => (input.value.trim() === ""
    ? answer({ error: tt(lang(), "budgetResetAmount") }) : send({ amount: Number(input.value) })), SETTING_BUTTON);
  again.className = "runninghub-budget-reset";
  const none = button(tt(L, "budgetResetNone"), () => (confirm(tt(lang(), "budgetResetNoneConfirm", { site }))
    ? send({ no_budget: true }) : undefined), SETTING_BUTTON);
  none.className = "runninghub-budget-reset-none";
  input.onkeydown = (event) => { if (event.key === "Enter") again.onclick(); };
  return el("div", { className: "runninghub-budget-reset-form", title: tt(L, "budgetResetTitle") },
    "display:flex;flex-direction:column;gap:4px", [
      el("div", {}, "display:flex;gap:6px;align-items:center", [input, again, none]), said,
    ]);
}

// The budget panels on the page (one per site): a budget set again over a damaged file makes the
// file sound for every site, so the answer updates them all.
const panels = new Set();

function showEverywhere(data) {
  for (const panel of [...panels]) {
    panel.show(data);
    if (!panel.root.isConnected) panels.delete(panel);  // Settings was closed
  }
}

function budgetPanel(site) {
  const L = lang();
  const status = el("div", { className: "runninghub-budget-status" }, "font-size:0.9em;opacity:0.85");
  const input = el("input", { type: "number", min: "0", step: "0.01", placeholder: tt(L, "budgetPlaceholder"),
    className: "runninghub-budget-input" }, INPUT);
  const result = el("div", {}, "font-size:0.9em;color:#f87171");
  const note = el("div", { className: "runninghub-budget-note" }, "font-size:0.9em;color:#4ade80");
  // the answer's error (a damaged budget file: what to do) comes worded in the browser's language
  const show = (data) => {
    result.textContent = data?.error ?? "";
    const damaged = data?.code === DAMAGED;
    row.style.display = damaged ? "none" : "flex";
    reset.style.display = damaged ? "flex" : "none";
    if (!data?.sites) return;
    const info = data.sites[site];
    status.textContent = budgetSetting(info, lang());
    input.value = info?.budget ?? "";
  };
  const reset = budgetReset(site, (data) => { showEverywhere(data); note.textContent = data?.note ?? ""; });
  const unanswered = () => { result.textContent = tt(lang(), "budgetUnanswered"); };
  const store = async (amount) => call("/budget", { site, amount, locale: locale() }).then(show, unanswered);
  const save = button(tt(L, "save"), () => store(input.value.trim() === "" ? null : Number(input.value)), SETTING_BUTTON);
  save.className = "runninghub-budget-save";
  const off = button(tt(L, "turnOff"), () => store(null), SETTING_BUTTON);
  input.onkeydown = (event) => { if (event.key === "Enter") save.onclick(); };
  const row = el("div", {}, "display:flex;gap:6px;align-items:center", [input, save, off]);
  reset.style.display = "none";
  call(`/budget?locale=${encodeURIComponent(locale())}`).then(show, unanswered);
  const root = el("div", { className: "runninghub-budget" }, "display:flex;flex-direction:column;gap:6px;min-width:340px", [
    status, row, result, reset, note,
  ]);
  panels.add({ root, show });
  return root;
}

app.registerExtension({
  name: "RunningHub.Inbox",
  // the amount lives with the pack (the pipeline checks it), not in a setting
  settings: siteSettings("Budget", "Daily budget", "Daily budget for",
    "Refuse a run (before anything is uploaded) when its price would take today's spend on this " +
      "site past this amount. Empty: no limit (the default).", budgetPanel),

  setup() {
    const manager = app.extensionManager;
    if (!manager?.registerSidebarTab) return;  // a frontend without sidebar tabs: the CLI's list still works
    let inbox = null;
    manager.registerSidebarTab({
      id: "runninghub-inbox",
      icon: "pi pi-inbox",
      title: "runninghubInbox.title",  // an i18n key (locales/*/main.json); shown as is where unknown
      // the label under the icon (newer frontends): it may break only between "Running" and "Hub"
      label: "runninghubInbox.label",
      tooltip: "runninghubInbox.tooltip",
      type: "custom",
      render: (element) => {
        inbox?.stop();
        element.replaceChildren();
        inbox = new Inbox(element);
      },
      destroy: () => { inbox?.stop(); inbox = null; },
    });
    // a run started or ended: show it at once rather than at the next poll
    for (const event of ["execution_start", "executed", "execution_error", "execution_interrupted"]) {
      api.addEventListener(event, () => inbox?.root.isConnected && inbox.refresh());
    }
  },
});
