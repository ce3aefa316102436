// RunningHub pack extension: API key entries in Settings → RunningHub, a panel on each RunningHub
// node with its live status (and, on the Seedance node, price, balance and key health), and the UI
// language that the prompts this browser queues speak.
// The key goes to the pack's route (/runninghub/key), which stores it in ComfyUI's user folder;
// it is never a setting value, a widget, or in browser storage.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import {
  choiceLabels, estimatePanelHeight, formatCaption, formatKeyStatus, formatTestResult, languageOf, promptListSize,
  referenceCounts, saysProblem, siteSettings, switchLabel, t,
} from "./format.js";
import { call } from "./routes.js";
import { fitSockets, isConnected, referenceLimits, socketOf } from "./sockets.js";

// The Seedance nodes (v1-lite, 2.0): both show their price; the 2.0 node sends its model too.
const NODES = ["RunningHubSeedanceReferenceToVideo", "RunningHubSeedance2ReferenceToVideo",
  "RunningHubSeedanceTextToVideo", "RunningHubSeedanceFramesToVideo"];
// The mode each node runs in (the others: their model's first mode, reference).
const MODES = { RunningHubSeedanceTextToVideo: "text", RunningHubSeedanceFramesToVideo: "frames" };
const CATEGORY = "RunningHub";
const PRICE_WIDGETS = ["model", "duration", "resolution", "site", "generate_audio", "duration_auto"];
const PROMPT_LIST = "RunningHubPromptList";

const locale = () => app.extensionManager?.setting?.get("Comfy.Locale") || navigator.language;
const lang = () => languageOf(locale());

// --- settings: one entry per site --------------------------------------------------------
function element(tag, props = {}, style = "") {
  const el = Object.assign(document.createElement(tag), props);
  el.style.cssText = style;
  return el;
}

const BUTTON = "padding:4px 10px;border-radius:6px;border:1px solid var(--border-color);" +
  "background:var(--comfy-input-bg);color:var(--input-text);cursor:pointer;white-space:nowrap";

function keyPanel(site) {
  const root = element("div", { className: "runninghub-key" }, "display:flex;flex-direction:column;gap:6px;min-width:340px");
  const status = element("div", { className: "runninghub-key-status" }, "font-size:0.9em;opacity:0.85");
  const row = element("div", {}, "display:flex;gap:6px;align-items:center");
  const input = element("input", {
    type: "password", autocomplete: "off", spellcheck: false, placeholder: t(lang(), "placeholder"),
    className: "runninghub-key-input",
  }, "flex:1;padding:4px 8px;border-radius:6px;border:1px solid var(--border-color);" +
     "background:var(--comfy-input-bg);color:var(--input-text)");
  input.setAttribute("data-1p-ignore", "");  // no password-manager prompts for an API key
  const save = element("button", { type: "button", textContent: t(lang(), "save"), className: "runninghub-key-save" }, BUTTON);
  const remove = element("button", { type: "button", textContent: t(lang(), "remove"), className: "runninghub-key-remove" }, BUTTON);
  const test = element("button", { type: "button", textContent: t(lang(), "test"), className: "runninghub-key-test" }, BUTTON);
  const result = element("div", { className: "runninghub-key-result" }, "font-size:0.9em;white-space:pre-wrap;max-width:520px");
  row.append(input, save, remove, test);
  root.append(status, row, result);

  const show = (data) => {
    if (data?.sites) status.textContent = formatKeyStatus(data.sites[site], lang());
    else if (data?.error) result.textContent = t(lang(), "testFailed", { error: data.error });
  };
  const store = async (key) => {
    const before = status.textContent;
    status.textContent = t(lang(), "saving");
    result.textContent = "";
    input.value = "";  // the key leaves the page with this request and is never shown again …
    let answer;
    try {
      answer = await call("/key", { site, key, locale: locale() });  // a refusal in the browser's language
    } catch {
      answer = { error: t(lang(), "unknown") };
    }
    if (answer?.error) {  // … unless it was refused: it stays (hidden) in the field to be corrected
      input.value = key;
      status.textContent = before;
      call("/key").then(show).catch(() => {});
    }
    show(answer);
    refreshAllPrices();
  };
  save.onclick = () => input.value.trim() && store(input.value.trim());
  input.onkeydown = (event) => { if (event.key === "Enter") save.onclick(); };
  remove.onclick = () => store("");
  test.onclick = async () => {
    result.textContent = t(lang(), "testing");
    result.style.color = "";
    const answer = await call("/key/test", { site, locale: locale() });
    result.textContent = formatTestResult(answer, lang());
    result.style.color = answer.ok ? "var(--p-green-400, #4ade80)" : "var(--error-text, #f87171)";
  };
  call("/key").then(show).catch(() => { status.textContent = t(lang(), "keyUnanswered"); });
  return root;
}

// --- status language: prompts this browser queues speak it ---------------------------------
let toldClient = null;
function tellLocale(value = locale()) {
  const clientId = api.clientId ?? api.initialClientId ?? null;
  toldClient = clientId;
  call("/locale", { locale: value, client_id: clientId }).catch(() => {});  // an older server: English
}

// --- the RunningHub panel on our nodes: status line and price caption ---------------------
// A DOM widget rather than canvas painting: the Nodes 2.0 (Vue) renderer never calls
// onDrawForeground, and ComfyUI's own progress text is cleared by newer frontends when a prompt
// ends. The status comes as the pack's websocket event "runninghub.status" {node, text, kind}.
const PANEL = "runninghub_panel";
// The theme's own colours (a light theme too): the status and price in the node's text colour,
// errors in the theme's error colour, a cancel in an amber readable on light and dark.
const COLOURS = { error: "var(--error-text, #f87171)", cancelled: "#d97706", done: "var(--input-text, #ddd)" };
const MARGIN = 4;  // the DOM widget's margin above and below (the frontend's default is 10)

function panel(node) {
  if (node.__runninghubPanel) return node.__runninghubPanel;
  const root = element("div", { className: "runninghub-panel" },
    "display:flex;flex-direction:column;gap:2px;font-size:12px;line-height:1.35;padding:2px 4px;" +
    "white-space:pre-wrap;overflow-wrap:break-word;word-break:normal;color:var(--descrip-text, #aaa)");
  const status = element("div", { className: "runninghub-status" });
  const caption = element("div", { className: "runninghub-caption" }, "color:var(--input-text, #ddd)");
  const keyHealth = element("div", { className: "runninghub-key-health" }, "color:var(--error-text, #f87171)");
  root.append(status, caption, keyHealth);
  node.__runninghubPanel = { root, status, caption, keyHealth, kind: "" };
  if (typeof node.addDOMWidget === "function") {
    // The panel asks for exactly its text's height, so the classic canvas never squeezes it under a
    // video preview or lets it spill past the node's border: the node grows instead.
    const height = () => panelHeight(node) + 2 * MARGIN;
    const widget = node.addDOMWidget(PANEL, "runninghub", root, {
      serialize: false, hideOnZoom: false, margin: MARGIN, getMinHeight: height, getMaxHeight: height,
    });
    if (widget) widget.serialize = false;  // never part of the workflow's widget values
  }
  return node.__runninghubPanel;
}

// The panel's text height: measured once the browser laid it out, else estimated from the text.
function panelHeight(node) {
  const { root, status, caption, keyHealth } = node.__runninghubPanel;
  const shown = [status, caption, keyHealth].filter((part) => part.textContent && part.style.display !== "none");
  if (!shown.length) return 0;
  const measured = root.isConnected && root.getClientRects?.().length
    ? shown.reduce((sum, part) => sum + (part.offsetHeight || 0), 0) + 2 * (shown.length - 1) + 4 : 0;
  const width = root.clientWidth || (node.size?.[0] ?? 300) - 2 * 10;
  return measured || estimatePanelHeight(shown.map((part) => part.textContent), width);
}

function relayout(node) {
  const { status, keyHealth } = panel(node);
  keyHealth.style.display = saysProblem(status.textContent, keyHealth.textContent) ? "none" : "";
  node.setDirtyCanvas?.(true, true);
  globalThis.requestAnimationFrame?.(() => node.setDirtyCanvas?.(true, true));  // again once the new text is measured
}

function showStatus(node, text, kind) {
  const parts = panel(node);
  parts.status.textContent = text || "";
  parts.status.style.color = COLOURS[kind] ?? "";
  parts.kind = kind;
  relayout(node);
}

function showCaption(node, info) {
  const { caption, keyHealth } = panel(node);
  const { price, problem } = formatCaption(info, lang());
  caption.textContent = price;  // what a run costs
  keyHealth.textContent = problem;  // red: what to fix before spending
  relayout(node);
}

// After ComfyUI restarted, a line left mid-run ("RUNNING · 0:07") is stale: nothing waits for
// that task any more. Once the server answers again with nothing running, say so and how to resume.
async function markStaleRuns() {
  let running = true;
  try {
    running = ((await (await api.fetchApi("/queue")).json()).queue_running ?? []).length > 0;
  } catch {
    return;
  }
  if (running) return;
  for (const node of app.graph?.nodes ?? []) {
    const parts = node.__runninghubPanel;
    if (parts && ["start", "progress"].includes(parts.kind)) showStatus(node, t(lang(), "restarted"), "cancelled");
  }
}

// The previous run's video preview: gone as soon as a new run starts, so a failed or cancelled
// run never shows an older video as if it were its result. The frontend keeps the video's box in
// node.videoContainer and adds the "video-preview" widget only while that is unset, so it is
// dropped with the widget (as the frontend itself does); else later runs have no preview at all.
function clearPreview(node) {
  const id = String(node.id);
  if (app.nodeOutputs) delete app.nodeOutputs[id];
  node.images = undefined;
  node.imgs = undefined;
  node.animatedImages = undefined;
  node.videoContainer = undefined;
  for (const widget of [...(node.widgets ?? [])]) {
    if (widget.name === "video-preview" || widget.name === "$$canvas-image-preview") node.removeWidget(widget);
  }
  node.setDirtyCanvas?.(true, true);
}

function onStatus({ detail }) {
  const node = detail && app.graph?.getNodeById?.(detail.node);
  if (!node) return;
  if (detail.kind === "start") clearPreview(node);
  showStatus(node, detail.text, detail.kind);
}

// --- price and key health under the Seedance node ----------------------------------------
function widgetValue(node, name) {
  return node.widgets?.find((w) => w.name === name)?.value;
}

function refreshPrice(node, fresh = false) {
  clearTimeout(node.__runninghubTimer);
  node.__runninghubTimer = setTimeout(async () => {
    const query = new URLSearchParams({ site: widgetValue(node, "site") ?? "cn" });
    for (const name of ["model", "duration", "resolution", "generate_audio"]) {  // absent: the model's default
      const value = widgetValue(node, name);
      if (value !== undefined) query.set(name, String(value));
    }
    if (widgetValue(node, "duration_auto") === true) query.set("duration", "auto");  // the model chooses
    const mode = MODES[node.comfyClass ?? node.type];
    if (mode) query.set("mode", mode);
    // a connected reference video changes a 2.0-family price (the reference-video rule)
    const videos = (node.inputs ?? []).filter((i, index) => socketOf(i.name)?.kind === "video" && isConnected(node, index))
      .length;
    if (videos) query.set("videos", String(videos));
    if (fresh) query.set("fresh", "1");
    query.set("locale", locale());  // the key's problem, if any, comes in the browser's language
    let info = null;
    try {
      const response = await api.fetchApi(`/runninghub/price?${query}`);
      info = await response.json();
    } catch {
      info = null;
    }
    const batch = batchSize(node);
    if (info && !info.error && batch !== undefined) info = { ...info, batch };
    showCaption(node, info);
    node.setDirtyCanvas?.(true, false);
  }, 300);  // a slider sends many changes; ask once it settles
}

// The node feeding `node`'s input `name`, or undefined. Asked of the node by slot (getInputNode,
// in 1.27.10 and 1.58 alike): newer frontends warn that a slot's own `link` is deprecated.
function sourceOf(node, name) {
  const index = (node.inputs ?? []).findIndex((i) => i.name === name);
  if (index === -1 || !node.graph) return undefined;
  return node.getInputNode(index) ?? undefined;
}

// How many videos a queue makes of `node` when RunningHub Prompt List feeds its prompt (null: the
// list comes from upstream, its size unknown here); undefined when the node is not fed by one.
function batchSize(node) {
  const list = sourceOf(node, "prompt");
  if (!list || (list.comfyClass ?? list.type) !== PROMPT_LIST) return undefined;
  const linked = (name) => sourceOf(list, name) !== undefined;
  if (linked("prompts") || linked("variations")) return null;
  return promptListSize(widgetValue(list, "prompts"), widgetValue(list, "variations"), linked("prompt_list"));
}

function refreshAllPrices(fresh = false) {
  for (const node of app.graph?.nodes ?? []) {
    if (NODES.includes(node.comfyClass) || NODES.includes(node.type)) refreshPrice(node, fresh);
  }
}

function watchPriceWidgets(node) {
  for (const widget of node.widgets ?? []) {
    if (!PRICE_WIDGETS.includes(widget.name) || widget.__runninghubWatched) continue;
    const callback = widget.callback;
    widget.callback = function (...args) {
      const r = callback?.apply(this, args);
      refreshPrice(node);
      return r;
    };
    widget.__runninghubWatched = true;
  }
  refreshPrice(node);
}

// A Prompt List's size is part of the price of the video node it feeds: its edits and links
// ask that node's caption again.
function watchPromptList(proto) {
  const refresh = () => refreshAllPrices();
  const onNodeCreated = proto.onNodeCreated;
  proto.onNodeCreated = function (...args) {
    const r = onNodeCreated?.apply(this, args);
    for (const widget of this.widgets ?? []) {
      if (!["prompts", "variations"].includes(widget.name)) continue;
      const callback = widget.callback;
      widget.callback = function (...a) {
        const out = callback?.apply(this, a);
        refresh();
        return out;
      };
    }
    return r;
  };
  for (const hook of ["onConnectionsChange", "onConfigure"]) {
    const previous = proto[hook];
    proto[hook] = function (...args) {
      const r = previous?.apply(this, args);
      refresh();
      return r;
    };
  }
}

// The words a node's widgets show, in the UI's language: a switch's on/off (every switch of the pack
// reads "on"/"off", duration_auto "auto"/"off"; both canvases draw widget.options.on / off) and a list's word-like
// choices (aspect_ratio "adaptive", task_type, bitrate; frontends with options.getOptionLabel show
// it, older ones the value). The values a workflow saves never change.
function labelWidgets(node, language = lang()) {
  for (const widget of node.widgets ?? []) {
    if (!widget.options) continue;
    if (widget.type === "combo") {
      const labels = choiceLabels(widget.name, language);  // marked ours: taken back when the language changes
      if (labels) widget.options.getOptionLabel = Object.assign(labels, { runninghub: true });
      else if (widget.options.getOptionLabel?.runninghub) delete widget.options.getOptionLabel;
    }
    if (widget.type !== "toggle" || (widget.options.on == null && widget.options.off == null)) continue;
    widget.__runninghubLabels ??= { on: widget.options.on, off: widget.options.off };  // the schema's own
    widget.options.on = switchLabel(widget.__runninghubLabels.on, language);
    widget.options.off = switchLabel(widget.__runninghubLabels.off, language);
  }
  node.setDirtyCanvas?.(true, false);
}

// A seed's after-generate control starts at "randomize" in frontends that ignore the schema's
// default; a new seed is a new paid video, so a new node starts at "fixed". A loaded workflow then
// restores whatever it saved.
function startSeedFixed(node) {
  const seed = node.widgets?.find((w) => w.name === "seed");
  const control = seed?.linkedWidgets?.[0] ?? node.widgets?.find((w) => w.name === "control_after_generate");
  if (control && control.value === "randomize") control.value = "fixed";
}

// --- reference sockets, shown as they are connected (js/sockets.js) -----------------------
// Each node keeps the sockets it was created with (with their translated names), so a socket
// removed from view comes back alike. The fitting waits until the frontend is done with the change
// at hand (a workflow's whole load, a connection, a model choice).
function watchSockets(proto, nodeData, limits) {
  const declared = Object.keys({ ...nodeData.input?.required, ...nodeData.input?.optional }).filter(socketOf);
  const tooltip = nodeData.input?.required?.model?.[1]?.tooltip;
  const fitLater = (node) => {
    clearTimeout(node.__runninghubFit);
    node.__runninghubFit = setTimeout(() => fitNode(node, limits, tooltip), 0);
  };
  const onNodeCreated = proto.onNodeCreated;
  proto.onNodeCreated = function (...args) {
    const r = onNodeCreated?.apply(this, args);
    const node = this;
    node.__runninghubSockets = Object.fromEntries((node.inputs ?? []).filter((i) => declared.includes(i.name))
      .map((i) => [i.name, { type: i.type, localized_name: i.localized_name }]));
    const model = node.widgets?.find((w) => w.name === "model");
    if (model) {
      const callback = model.callback;
      model.callback = function (...a) {
        const out = callback?.apply(this, a);
        fitLater(node);
        return out;
      };
    }
    fitLater(node);
    return r;
  };
  for (const hook of ["onConnectionsChange", "onConfigure"]) {
    const previous = proto[hook];
    proto[hook] = function (...args) {
      const r = previous?.apply(this, args);
      fitLater(this);
      return r;
    };
  }
}

function fitNode(node, limits, tooltip) {
  const model = limits[widgetValue(node, "model")];
  const [before, height] = [node.computeSize?.()[1], node.size?.[1]];
  if (node.__runninghubSockets && fitSockets(node, node.__runninghubSockets, model)) {
    // the node grows or shrinks by the socket rows it gained or lost: its widgets (the prompt) keep their room
    const after = node.computeSize?.()[1];
    if (before && after && height) node.setSize?.([node.size[0], Math.max(after, height + after - before)]);
    node.setDirtyCanvas?.(true, true);
  }
  const widget = node.widgets?.find((w) => w.name === "model");
  if (widget && model) {
    ownTooltip(node, "model", tooltip).then((own) => {
      const text = [t(lang(), "references", referenceCounts(model)), own].filter(Boolean).join("\n");
      if (widget.tooltip === text) return;
      widget.tooltip = text;
      // Nodes 2.0 (frontend 1.58) draws a widget from a copy taken when it joined the graph, which
      // its setNodeId takes again; without it, Nodes 2.0 shows the list's own text only.
      if (node.graph && typeof widget.setNodeId === "function") {
        try {
          widget.setNodeId(node.id);
        } catch {
          // an older or newer frontend without that copy: the classic canvas reads widget.tooltip
        }
      }
    });
  }
}

// An input's own tooltip in the UI's language (ComfyUI serves the packs' translations at /i18n;
// the frontend shows a widget's own tooltip instead of them), else `fallback`, the English one.
let translations;
async function ownTooltip(node, name, fallback) {
  translations ??= api.fetchApi("/i18n").then((response) => response.json()).catch(() => ({}));
  const all = await translations;
  return all?.[lang()]?.nodeDefs?.[node.comfyClass ?? node.type]?.inputs?.[name]?.tooltip ?? fallback;
}

export const extension = {
  name: "RunningHub.Seedance",
  // a custom panel per site: the setting's own value is never the key
  settings: siteSettings("ApiKey", "API key", "API key for",
    "Kept by the RunningHub pack in ComfyUI's user folder (private to your user where the OS supports file " +
      "modes), never in a workflow or the browser. Seedance needs an Enterprise-Shared key; .cn and .ai keys " +
      "do not cross.", keyPanel),

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData.category !== CATEGORY) return;
    const proto = nodeType.prototype;
    if (nodeData.name === PROMPT_LIST) watchPromptList(proto);
    const limits = referenceLimits(nodeData);
    if (limits) watchSockets(proto, nodeData, limits);
    const priced = NODES.includes(nodeData.name);
    const onNodeCreated = proto.onNodeCreated;
    proto.onNodeCreated = function (...args) {
      const r = onNodeCreated?.apply(this, args);
      panel(this);
      labelWidgets(this);
      if (priced) {
        watchPriceWidgets(this);
        startSeedFixed(this);
      }
      return r;
    };
    if (!priced) return;
    const onConnectionsChange = proto.onConnectionsChange;
    proto.onConnectionsChange = function (...args) {
      const r = onConnectionsChange?.apply(this, args);
      refreshPrice(this);  // a reference video connected or removed
      return r;
    };
    const onConfigure = proto.onConfigure;
    proto.onConfigure = function (...args) {
      const r = onConfigure?.apply(this, args);
      refreshPrice(this);  // a loaded workflow brings its own duration / resolution / site
      return r;
    };
  },

  setup() {
    tellLocale();
    app.ui?.settings?.addEventListener?.("Comfy.Locale.change", (event) => {
      tellLocale(event.detail?.value);
      const language = languageOf(event.detail?.value ?? locale());
      for (const node of app.graph?.nodes ?? []) if (node.__runninghubPanel) labelWidgets(node, language);
    });
    api.addEventListener("reconnected", () => {  // a restarted server knows no browser and runs nothing
      tellLocale();
      markStaleRuns();
    });
    api.addEventListener("status", () => {  // the websocket (re)assigned this browser its client id
      if ((api.clientId ?? api.initialClientId ?? null) !== toldClient) tellLocale();
    });
    api.addEventListener("runninghub.status", onStatus);
    // A finished run moved the balance (also when a later node of the prompt failed).
    api.addEventListener("executed", (event) => {
      if (NODES.includes(app.graph?.getNodeById(event.detail?.node)?.comfyClass)) refreshAllPrices(true);
    });
  },
};

app.registerExtension(extension);
