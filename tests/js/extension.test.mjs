// js/runninghub.js run for real under node: ComfyUI's `app` and `api` and a tiny DOM are stand-ins,
// every other import must resolve to a file of the pack (an import of anything else fails here).
import { test } from "node:test";
import assert from "node:assert/strict";

import { moduleUrl } from "./standins.mjs";

class Element {
  constructor(tag) { Object.assign(this, { tag, children: [], style: {}, attributes: {}, textContent: "", value: "" }); }
  append(...nodes) { this.children.push(...nodes); }
  replaceChildren(...nodes) { this.children = nodes; }
  setAttribute(name, value) { this.attributes[name] = value; }
}

const NO_KEY = ".cn 没有 API 密钥：请在 设置 → RunningHub 中填写";  // as the server words it

function comfy() {
  const listeners = {};
  const requests = [];
  const nodes = new Map();
  const forbidden = () => { throw new Error("the key must never reach browser storage or a setting value"); };
  globalThis.document = { createElement: (tag) => new Element(tag) };
  globalThis.localStorage = globalThis.sessionStorage = { setItem: forbidden, getItem: forbidden };
  globalThis.navigator ??= { language: "en-US" };
  globalThis.__comfy = {
    app: {
      extensions: [],
      registerExtension(ext) { this.extensions.push(ext); },
      extensionManager: { setting: { get: (id) => (id === "Comfy.Locale" ? "zh-CN" : undefined), set: forbidden } },
      graph: { getNodeById: (id) => nodes.get(String(id)), get nodes() { return [...nodes.values()]; } },
      nodeOutputs: {},
    },
    api: {
      clientId: "browser-1",
      addEventListener(type, fn) { (listeners[type] ??= []).push(fn); },
      async fetchApi(path, options = {}) {
        requests.push({ path, method: options.method ?? "GET", body: options.body && JSON.parse(options.body) });
        return { json: async () => ({ sites: { cn: { set: true, last4: "abcd" } }, price: 0.75, currency: "CNY",
          key: { state: "none", problem: NO_KEY } }) };
      },
    },
  };
  const emit = (type, detail) => (listeners[type] ?? []).forEach((fn) => fn({ detail }));
  return { app: globalThis.__comfy.app, requests, nodes, emit };
}

let counter = 0;
async function load() {
  const env = comfy();
  await import(`${await moduleUrl("runninghub.js")}#${counter++}`);
  const ext = env.app.extensions.find((e) => e.name === "RunningHub.Seedance");
  return { ...env, ext };
}

async function ourNode(env, name = "RunningHubFetchTask", id = "7", widgets = []) {
  function NodeType() {}
  await env.ext.beforeRegisterNodeDef(NodeType, { name, category: "RunningHub" });
  const node = Object.assign(new NodeType(), { id: Number(id), widgets, comfyClass: name });
  node.addDOMWidget = (widgetName, type, element, options) => {
    const widget = { name: widgetName, type, element, options, onRemove() { this.removed = true; } };
    node.widgets.push(widget);
    return widget;
  };
  node.removeWidget = (widget) => {  // as LGraphNode.removeWidget (1.27 throws on a stranger)
    const index = node.widgets.indexOf(widget);
    if (index === -1) throw new Error("Widget not found on this node");
    widget.onRemove?.();
    node.widgets.splice(index, 1);
  };
  node.onNodeCreated();
  env.nodes.set(id, node);
  return { node, NodeType };
}

test("every RunningHub node gets a panel widget and nothing painted on the canvas", async () => {
  const env = await load();
  const { node, NodeType } = await ourNode(env);
  const panel = node.widgets.find((w) => w.name === "runninghub_panel");
  assert.ok(panel, "a DOM widget, shown by the classic and the Nodes 2.0 renderer alike");
  assert.equal(panel.options.serialize, false);
  assert.equal(NodeType.prototype.onDrawForeground, undefined);
});

// What the frontend (useNodeVideo, 1.27 and 1.58 alike) does with a node's new video output: the
// "video-preview" widget is added only when node.videoContainer is unset, else the video goes
// into the existing container.
function frontendShowsVideo(env, node, filename) {
  env.app.nodeOutputs[String(node.id)] = { images: [{ filename }], animated: [true] };
  if (!node.videoContainer) {
    node.videoContainer = document.createElement("div");
    node.addDOMWidget("video-preview", "video", node.videoContainer, { hideOnZoom: false });
  }
  node.videoContainer.replaceChildren(Object.assign(document.createElement("video"), { src: filename }));
}
const shownVideo = (node) =>
  node.widgets.find((w) => w.name === "video-preview")?.element.children.map((video) => video.src);

test("the status event writes the node's line; a new run clears the old line and preview", async () => {
  const env = await load();
  env.ext.setup();
  const { node } = await ourNode(env);
  const status = node.widgets.find((w) => w.name === "runninghub_panel").element.children[0];
  env.emit("runninghub.status", { node: "7", text: "运行中 · 已用 0:41", kind: "progress" });
  assert.equal(status.textContent, "运行中 · 已用 0:41");
  frontendShowsVideo(env, node, "old.mp4");
  const preview = node.widgets.at(-1);
  env.emit("runninghub.status", { node: "7", text: "开始…", kind: "start" });
  assert.equal(status.textContent, "开始…");
  assert.equal(env.app.nodeOutputs["7"], undefined);
  assert.ok(preview.removed && !node.widgets.includes(preview));
  assert.equal(shownVideo(node), undefined);
  env.emit("runninghub.status", { node: "7", text: "已取消 · 任务 1 仍在 RunningHub 上运行", kind: "cancelled" });
  assert.match(status.textContent, /^已取消/);
  assert.notEqual(status.style.color, "");
});

test("every run's video shows on the node, not only the first run's in a page", async () => {
  const env = await load();
  env.ext.setup();
  const { node } = await ourNode(env, "RunningHubSeedanceReferenceToVideo", "8");
  for (const video of ["run1.mp4", "run2.mp4", "run3.mp4"]) {
    env.emit("runninghub.status", { node: "8", text: "开始…", kind: "start" });
    assert.equal(shownVideo(node), undefined, "the previous run's video is gone while this one runs");
    frontendShowsVideo(env, node, video);
    assert.deepEqual(shownVideo(node), [video]);
  }
});

test("the browser tells the server its locale with its client id", async () => {
  const env = await load();
  env.ext.setup();
  const post = env.requests.find((r) => r.path === "/runninghub/locale");
  assert.deepEqual(post.body, { locale: "zh-CN", client_id: "browser-1" });
  globalThis.__comfy.api.clientId = "browser-2";  // the websocket reconnected under a new id
  env.emit("status", {});
  assert.deepEqual(env.requests.filter((r) => r.path === "/runninghub/locale").at(-1).body,
    { locale: "zh-CN", client_id: "browser-2" });
});

test("a saved key goes only to the pack's route and leaves the page at once", async () => {
  const env = await load();
  const panel = env.ext.settings.find((s) => s.id === "RunningHub.ApiKey.cn").type();
  const [, row] = panel.children;
  const [input, save] = row.children;
  assert.equal(input.type, "password");
  input.value = "SecretKey0123456789abcdefABCDEF01";
  await save.onclick();
  const stored = env.requests.find((r) => r.path === "/runninghub/key" && r.method === "POST");
  assert.deepEqual(stored.body, { site: "cn", key: "SecretKey0123456789abcdefABCDEF01", locale: "zh-CN" });  // a refusal in it
  assert.equal(input.value, "");
});

test("a Seedance node asks its price in the browser's language and shows the key's problem as sent", async () => {
  const env = await load();
  const { node } = await ourNode(env, "RunningHubSeedanceReferenceToVideo", "8");
  await new Promise((resolve) => setTimeout(resolve, 400));  // the price is asked once the widgets settle
  const asked = env.requests.find((r) => r.path.startsWith("/runninghub/price?"));
  assert.equal(new URLSearchParams(asked.path.split("?")[1]).get("locale"), "zh-CN");
  const [, caption, keyHealth] = node.widgets.find((w) => w.name === "runninghub_panel").element.children;
  assert.match(caption.textContent, /^预计 0\.75 元/);
  assert.equal(keyHealth.textContent, NO_KEY);
});

const panelOf = (node) => node.widgets.find((w) => w.name === "runninghub_panel");

test("the panel asks for its text's whole height, so the classic canvas never squeezes it", async () => {
  const env = await load();
  env.ext.setup();
  const { node } = await ourNode(env);
  node.size = [400, 300];
  const widget = panelOf(node);
  const empty = widget.options.getMinHeight();
  env.emit("runninghub.status", { node: "7", text: "完成 · 任务 42 · 0.75 元 · 0:12\n20261206-194655_42.mp4", kind: "done" });
  const twoLines = widget.options.getMinHeight();
  assert.ok(twoLines >= empty + 2 * 16, `two lines need about 32 px more, not ${twoLines - empty}`);
  assert.equal(widget.options.getMaxHeight(), twoLines, "no more than its text: the rest is the video's");
});

test("a key problem the status line already says is shown once", async () => {
  const env = await load();
  env.ext.setup();
  const { node } = await ourNode(env, "RunningHubSeedanceReferenceToVideo", "8");
  await new Promise((resolve) => setTimeout(resolve, 400));
  const [, , keyHealth] = panelOf(node).element.children;
  assert.equal(keyHealth.textContent, NO_KEY);
  env.emit("runninghub.status", { node: "8", text: `失败：${NO_KEY}`, kind: "error" });
  assert.equal(keyHealth.style.display, "none");
  env.emit("runninghub.status", { node: "8", text: "开始…", kind: "start" });
  assert.equal(keyHealth.style.display, "");
});

test("a refused key keeps the pasted text and the key's status, not 'saving…'", async () => {
  const env = await load();
  const fetchApi = globalThis.__comfy.api.fetchApi;
  globalThis.__comfy.api.fetchApi = async (path, options = {}) => (options.method === "POST"
    ? { json: async () => ({ error: "The key has spaces or line breaks inside." }) } : fetchApi(path, options));
  const panel = env.ext.settings.find((s) => s.id === "RunningHub.ApiKey.cn").type();
  const [status, row, result] = panel.children;
  const [input, save] = row.children;
  await new Promise((resolve) => setTimeout(resolve, 10));
  input.value = "not a key";
  await save.onclick();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(input.value, "not a key");
  assert.notEqual(status.textContent, "保存中…");
  assert.match(result.textContent, /spaces/);
});

test("after ComfyUI restarts, a line left mid-run says the run stopped and how to pick it up", async () => {
  const env = await load();
  env.ext.setup();
  const { node } = await ourNode(env);
  const fetchApi = globalThis.__comfy.api.fetchApi;
  globalThis.__comfy.api.fetchApi = async (path, options = {}) => (path === "/queue"
    ? { json: async () => ({ queue_running: [], queue_pending: [] }) } : fetchApi(path, options));
  const [status] = panelOf(node).element.children;
  env.emit("runninghub.status", { node: "7", text: "运行中 · 已用 0:07", kind: "progress" });
  env.emit("reconnected", {});
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.match(status.textContent, /^已中断：运行中 ComfyUI 重启了/);
});

// A node's links as each frontend keeps them, read as the frontend reads them (getInputNode by
// slot): 1.27.10 through the slot's link id and the graph's link map; 1.58 by (node, slot) in the
// graph, where reading a slot's own `link` prints a deprecation warning (recorded here).
const FRONTENDS = {
  "1.27.10": (env) => {
    const links = new Map();
    const graph = { _links: links, getNodeById: (id) => env.nodes.get(String(id)) };
    return {
      wire(node, names) {
        Object.assign(node, { graph, inputs: names.map((name) => ({ name, link: null })) });
        node.getInputNode = (slot) => {  // as LGraphNode.getInputNode in 1.27.10
          const input = node.inputs[slot];
          if (!input || input.link === null) return null;
          const info = links.get(input.link);
          return info ? graph.getNodeById(info.origin_id) : null;
        };
      },
      connect(source, node, name) {
        links.set(links.size + 1, { origin_id: source.id });
        node.inputs.find((i) => i.name === name).link = links.size;
      },
    };
  },
  "1.58.1": (env) => {
    const bySlot = new Map();  // "node:slot" -> origin node id
    const graph = { getNodeById: (id) => env.nodes.get(String(id)) };
    return {
      wire(node, names) {
        const slot = (name) => ({ name, get link() { env.deprecated.push("input.link"); return bySlot.get(`${node.id}:${names.indexOf(name)}`) ?? null; } });
        Object.assign(node, { graph, inputs: names.map(slot) });
        node.getInputNode = (index) => {
          const origin = bySlot.get(`${node.id}:${index}`);
          return origin === undefined ? null : graph.getNodeById(origin);
        };
      },
      connect(source, node, name) { bySlot.set(`${node.id}:${node.inputs.findIndex((i) => i.name === name)}`, source.id); },
    };
  },
};

for (const [frontend, links] of Object.entries(FRONTENDS)) {
  test(`a video node fed by a Prompt List shows the batch's total, and a prompt list edit asks again (frontend ${frontend}, no deprecated link read)`, async () => {
    const env = await load();
    env.deprecated = [];
    const { wire, connect } = links(env);
    const { node: list } = await ourNode(env, "RunningHubPromptList", "9");
    list.widgets.push({ name: "prompts", value: "a cat\na dog\n" }, { name: "variations", value: 3 });
    wire(list, ["prompt_list", "prompts", "variations"]);
    const { node } = await ourNode(env, "RunningHubSeedanceTextToVideo", "8");
    wire(node, ["prompt"]);
    connect(list, node, "prompt");
    node.onConnectionsChange();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const caption = () => panelOf(node).element.children[1].textContent;
    assert.match(caption(), /批量 6 个：预计 4\.50 元$/);  // 2 prompts × 3 variations × 0.75
    const upstream = { id: 10, comfyClass: "PrimitiveStringList" };
    env.nodes.set("10", upstream);
    connect(upstream, list, "prompt_list");
    list.onConnectionsChange();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.match(caption(), /提示词列表接收上游列表后才知道总价$/);
    assert.deepEqual(env.deprecated, []);
  });
}

test("a switch's on/off words show in Chinese while the workflow keeps true / false", async () => {
  const env = await load();
  // as the frontend builds them from the schema (label_on / label_off) before onNodeCreated
  const widgets = [{ name: "real_person", type: "toggle", value: false, options: { on: "on", off: "off" } },
    { name: "duration_auto", type: "toggle", value: true, options: { on: "auto", off: "off" } },
    { name: "generate_audio", type: "toggle", value: true, options: {} }];
  const { node } = await ourNode(env, "RunningHubSeedance2ReferenceToVideo", "4", widgets);
  const labels = (name) => node.widgets.find((w) => w.name === name).options;
  assert.deepEqual([labels("real_person").on, labels("real_person").off], ["开", "关"]);
  assert.deepEqual([labels("duration_auto").on, labels("duration_auto").off], ["自动", "关"]);
  assert.deepEqual(labels("generate_audio"), {});  // no words of its own: the frontend's switch, untouched
  assert.deepEqual(node.widgets.slice(0, 3).map((w) => w.value), [false, true, true]);
});

test("a list's word-like choices show in Chinese where the frontend asks for labels; the saved value stays", async () => {
  const env = await load();
  const widgets = [{ name: "aspect_ratio", type: "combo", value: "adaptive", options: { values: ["adaptive", "16:9"] } },
    { name: "task_type", type: "combo", value: "edit", options: { values: ["auto", "edit"] } },
    { name: "resolution", type: "combo", value: "480p", options: { values: ["480p", "720p"] } }];
  const { node } = await ourNode(env, "RunningHubSeedance2ReferenceToVideo", "5", widgets);
  const label = (name, value) => node.widgets.find((w) => w.name === name).options.getOptionLabel?.(value);
  assert.deepEqual([label("aspect_ratio", "adaptive"), label("aspect_ratio", "16:9")], ["自适应", "16:9"]);
  assert.deepEqual([label("task_type", "auto"), label("task_type", "edit"), label("task_type", null)], ["自动", "编辑", ""]);
  assert.equal(label("resolution", "480p"), undefined);  // values only: the frontend shows them as they are
  assert.deepEqual(node.widgets.slice(0, 3).map((w) => w.value), ["adaptive", "edit", "480p"]);
});

test("a key status ComfyUI did not answer says so in the UI's language, never '?'", async () => {
  const env = await load();
  globalThis.__comfy.api.fetchApi = async () => { throw new TypeError("Failed to fetch"); };  // ComfyUI restarting
  const panel = env.ext.settings.find((s) => s.id === "RunningHub.ApiKey.cn").type();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(panel.children[0].textContent, "无法读取密钥状态：ComfyUI 没有响应，请刷新页面。");
});

// The Seedance 2.x reference node as the frontend makes it: every declared socket, then the widgets;
// links as frontend 1.27 keeps them (the slot's link id, the graph's link map).
async function seedance2(env) {
  const name = "RunningHubSeedance2ReferenceToVideo";
  const sockets = ["images", "images_2", "images_3", "video_1", "video_2", "video_3", "audio_1", "audio_2", "audio_3",
    "video_4", "video_5"];
  const limits = { "seedance-2.0": { label: "Seedance 2.0", image: 9, video: 3, audio: 3 },
    "seedance-2.5": { label: "Seedance 2.5", image: 30, video: 10, audio: 10 } };
  const nodeData = { name, category: "RunningHub", input: {
    required: { model: ["COMBO", { tooltip: "Seedance 2.0; Fast and Mini…", runninghub_references: limits }],
      prompt: ["STRING", {}] },
    optional: Object.fromEntries(sockets.map((s) => [s, [s.startsWith("video") ? "VIDEO" : "IMAGE", {}]])) } };
  function NodeType() {}
  await env.ext.beforeRegisterNodeDef(NodeType, nodeData);
  const links = new Map();
  const node = Object.assign(new NodeType(), {
    id: 9, comfyClass: name, size: [400, 900], graph: { _links: links },
    inputs: sockets.map((s) => ({ name: s, type: nodeData.input.optional[s][0], localized_name: `«${s}»`, link: null })),
    widgets: [{ name: "model", value: "seedance-2.0" }, { name: "prompt", value: "" }],
    addDOMWidget: () => ({}),
    computeSize: () => [300, 20 * node.inputs.length],
    setSize(size) { node.size = size; },
    getInputLink: (index) => links.get(node.inputs[index].link) ?? null,
    addInput(slot, type, extra) { node.inputs.push({ name: slot, type, link: null, ...extra }); },
    removeInput(index) {
      node.inputs.splice(index, 1);
      for (const input of node.inputs.slice(index)) if (input.link != null) links.get(input.link).target_slot--;
    },
  });
  node.connect = (slot, source) => {
    const index = node.inputs.findIndex((input) => input.name === slot);
    links.set(links.size + 1, { origin: source, target_slot: index });
    node.inputs[index].link = links.size;
    node.onConnectionsChange(1, index, true);
  };
  node.shown = () => node.inputs.map((input) => input.name);
  node.sources = () => Object.fromEntries(node.inputs.filter((input) => input.link != null)
    .map((input) => [input.name, links.get(input.link)]).map(([slot, link]) => [slot, `${link.origin}@${link.target_slot}`]));
  node.onNodeCreated();
  env.nodes.set("9", node);
  return node;
}
const fitted = () => new Promise((resolve) => setTimeout(resolve, 10));

test("the Seedance 2.x node shows its reference sockets as they are connected, up to the chosen model's counts", async () => {
  const env = await load();
  const node = await seedance2(env);
  await fitted();
  assert.deepEqual(node.shown(), ["images", "video_1", "audio_1"]);
  assert.equal(node.size[1], 900 - 8 * 20, "the node loses the rows of the sockets it hides, the prompt keeps its room");
  for (const video of ["video_1", "video_2", "video_3"]) {
    node.connect(video, "LoadVideo");
    await fitted();
  }
  assert.equal(node.size[1], 900 - 6 * 20, "and gains the rows of the sockets it shows");
  assert.deepEqual(node.shown(), ["images", "video_1", "video_2", "video_3", "audio_1"], "Seedance 2.0 takes three");
  const model = node.widgets[0];
  model.value = "seedance-2.5";
  model.callback("seedance-2.5");
  await fitted();
  assert.deepEqual(node.shown(), ["images", "video_1", "video_2", "video_3", "video_4", "audio_1"]);
  assert.equal(node.inputs[4].localized_name, "«video_4»");
  assert.deepEqual(node.sources(), { video_1: "LoadVideo@1", video_2: "LoadVideo@2", video_3: "LoadVideo@3" });
});

test("the model's tooltip says how many references the chosen model takes, over its own text", async () => {
  const env = await load();
  const fetchApi = globalThis.__comfy.api.fetchApi;
  globalThis.__comfy.api.fetchApi = async (path, options) => (path === "/i18n"
    ? { json: async () => ({ zh: { nodeDefs: { RunningHubSeedance2ReferenceToVideo: { inputs: { model: { tooltip: "模型说明" } } } } } }) }
    : fetchApi(path, options));
  const node = await seedance2(env);
  await fitted();
  const model = node.widgets[0];
  assert.equal(model.tooltip, "Seedance 2.0 最多可用 9 张参考图（批次中每张图各算一张）、3 段参考视频和 3 段参考音频；" +
    "每接上一个，就会出现下一个接口。\n模型说明");
  model.value = "seedance-2.5";
  model.callback("seedance-2.5");
  await fitted();
  assert.match(model.tooltip, /^Seedance 2\.5 最多可用 30 张参考图.*10 段参考视频和 10 段参考音频/);
  // Nodes 2.0 draws the widget from a copy that setNodeId takes again
  model.setNodeId = (id) => { model.copied = [id, model.tooltip]; };
  model.value = "seedance-2.0";
  model.callback("seedance-2.0");
  await fitted();
  assert.deepEqual(model.copied, [9, model.tooltip]);
  assert.match(model.copied[1], /^Seedance 2\.0 最多可用 9 张/);
});
