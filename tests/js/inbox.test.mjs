// js/inbox.js (the RunningHub sidebar tab and the budget settings) run for real under node: ComfyUI's
// `app` and `api` are stand-ins (standins.mjs) and so is the little of the DOM the tab uses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { moduleUrl } from "./standins.mjs";

class Element {
  constructor(tag) {
    Object.assign(this, { tag, children: [], style: {}, dataset: {}, textContent: "", value: "", parent: null });
  }
  append(...nodes) { for (const n of nodes) { if (typeof n === "object") n.parent = this; this.children.push(n); } }
  replaceChildren(...nodes) { this.children = []; this.append(...nodes); }
  remove() { if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this); }
  contains(node) { return node === this || this.children.some((c) => c.contains?.(node)); }
  get lastElementChild() { return this.children.at(-1); }
  get isConnected() { return this.parent ? this.parent.isConnected : Boolean(this.root); }
  /** Every element below (and including) this one, depth first. */
  all() { return [this, ...this.children.flatMap((c) => (c.all ? c.all() : []))]; }
  text() { return [this.textContent, ...this.children.map((c) => (c.text ? c.text() : String(c)))].join(" "); }
  find(pred) { return this.all().find(pred); }
}

const TASKS = {
  tasks: [
    { row: 4, task_id: "2000000000000000004", site: "cn", state: "RUNNING", phase: "pending", model: "seedance-v1-lite",
      prompt: "a lighthouse at night", options: { duration: "5", resolution: "720p" }, created_at: 1795800000,
      submitted_at: 1795800001, finished_at: null, elapsed_s: 12, cost: null, currency: "CNY", video_path: "",
      recoverable: true, recovering: false, recover_error: "", lookup_url: "https://www.runninghub.cn/call-api/call-record-detail/2000000000000000004" },
    { row: 3, task_id: null, site: "cn", state: "ambiguous", phase: "ambiguous", model: "seedance-v1-lite",
      prompt: "did it get paid?", options: { duration: "3" }, created_at: 1795790000, submitted_at: null,
      finished_at: null, elapsed_s: null, cost: null, currency: "CNY", video_path: "", recoverable: false,
      error: "no answer", lookup_url: "https://www.runninghub.cn" },
    { row: 2, task_id: "2000000000000000002", site: "cn", state: "downloaded", phase: "saved", model: "seedance-v1-lite",
      prompt: "a red kite", options: {}, created_at: 1795780000, submitted_at: 1795780001, finished_at: 1795780042,
      elapsed_s: 41, cost: 0.75, currency: "CNY", video_path: "/out/runninghub/a.mp4", file_name: "a.mp4",
      recoverable: false, lookup_url: "https://www.runninghub.cn/call-api/call-record-detail/2000000000000000002" },
  ],
  next: null,
  totals: { today: [{ site: "cn", currency: "CNY", amount: 0.75, tasks: 1 }], month: [{ site: "cn", currency: "CNY", amount: 2.5, tasks: 3 }] },
  budgets: { cn: { site: "cn", currency: "CNY", budget: 2, spent: 0.75, running: 0.75, running_tasks: 1 }, ai: { site: "ai", budget: null } },
};

const ASSETS = {
  assets: [
    { site: "cn", asset_id: "1234567890123456789", state: "ACTIVE", kind: "image", reason: "", created_at: 1795800000,
      updated_at: 1795800005, has_thumb: true },
    { site: "cn", asset_id: "", state: "creating", kind: "video", reason: "", created_at: 1795790000,
      updated_at: 1795790000, has_thumb: false },
  ],
};

// what /runninghub/budget answers (null: the budgets below), and /runninghub/budget/reset (null: the same)
const BUDGET = { answer: null, reset: null, unanswered: {} };

function comfy(locale = "en-US") {
  const requests = [];
  const tabs = [];
  globalThis.document = { createElement: (tag) => new Element(tag), body: new Element("body"), activeElement: null };
  globalThis.navigator = { language: locale };
  globalThis.__comfy = {
    app: {
      extensions: [],
      registerExtension(ext) { this.extensions.push(ext); },
      extensionManager: { setting: { get: (id) => (id === "Comfy.Locale" ? locale : undefined) },
        registerSidebarTab: (tab) => tabs.push(tab) },
    },
    api: {
      addEventListener() {},
      apiURL: (path) => `/api${path}`,
      async fetchApi(path, options = {}) {
        const body = options.body && JSON.parse(options.body);
        requests.push({ path, method: options.method ?? "GET", body, type: options.headers?.["Content-Type"] });
        const answer = path.startsWith("/runninghub/tasks?") ? TASKS
          : path === "/runninghub/assets" ? ASSETS
          : path === "/runninghub/budget/reset" && BUDGET.reset ? BUDGET.reset
          : path.startsWith("/runninghub/budget") ? BUDGET.answer ?? { sites: { cn: { site: "cn", currency: "CNY", budget: body?.amount ?? 2, spent: 0.75 } } }
            : { started: true };
        if (answer === BUDGET.unanswered) throw new TypeError("Failed to fetch");
        return { json: async () => answer };
      },
    },
  };
  return { requests, tabs };
}

let counter = 0;
async function open(locale) {
  const env = comfy(locale);
  await import(`${await moduleUrl("inbox.js")}#${counter++}`);
  const ext = globalThis.__comfy.app.extensions.find((e) => e.name === "RunningHub.Inbox");
  ext.setup();
  const root = Object.assign(new Element("div"), { root: true });
  env.tabs[0].render(root);
  await new Promise((resolve) => setTimeout(resolve, 10));  // the first page arrives
  const cards = root.all().filter((e) => e.className === "runninghub-task");
  return { ...env, ext, root, cards, close: () => env.tabs[0].destroy() };
}

test("the tab is one custom sidebar tab that lists every task with its facts, newest first", async () => {
  const tab = await open();
  try {
    assert.equal(tab.tabs.length, 1);
    assert.equal(tab.tabs[0].id, "runninghub-inbox");
    assert.equal(tab.tabs[0].type, "custom");
    assert.deepEqual(tab.cards.map((c) => c.dataset.phase), ["pending", "ambiguous", "saved"]);
    const [running, ambiguous, saved] = tab.cards.map((c) => c.text());
    assert.match(running, /running .*a lighthouse at night.*5 s · 720p.*cost not known yet · \.cn/s);
    assert.match(ambiguous, /no answer · may be paid.*did it get paid\?.*call records on www\.runninghub\.cn/s);
    assert.match(saved, /saved.*a red kite.*0:41 · 0\.75 CNY · \.cn.*2000000000000000002.*\/out\/runninghub\/a\.mp4/s);
    const thumb = tab.cards[2].find((e) => e.tag === "img");
    assert.equal(thumb.src, "/api/runninghub/tasks/thumb?site=cn&task_id=2000000000000000002");
    const totals = tab.root.find((e) => e.className === "runninghub-totals").text();
    assert.match(totals, /Today: 0\.75 CNY \(\.cn\).*This month: 2\.50 CNY \(\.cn\).*Daily budget \.cn: 0\.75 CNY of 2\.00 CNY \(\+0\.75 CNY not reported yet\)/s);
    assert.equal(tab.requests[0].path, "/runninghub/tasks?limit=50&locale=en");  // a refused run says why in it
  } finally {
    tab.close();
  }
});

test("a damaged budget file is said under the totals, where the budget lines would be", async () => {
  const { budgets } = TASKS;
  Object.assign(TASKS, { budgets: {}, budget_error: "The budget file /state/budget.json is damaged (not JSON)" });
  const tab = await open();
  try {
    const totals = tab.root.find((e) => e.className === "runninghub-totals").text();
    assert.match(totals, /Today: 0\.75 CNY.*The budget file \/state\/budget\.json is damaged/s);
  } finally {
    tab.close();
    delete TASKS.budget_error;
    TASKS.budgets = budgets;
  }
});

test("Recover appears only where a paid task lacks its file, and posts JSON to the recover route", async () => {
  const tab = await open();
  try {
    const buttons = tab.cards.map((c) => c.find((e) => e.className === "runninghub-recover"));
    assert.ok(buttons[0] && !buttons[1] && !buttons[2]);
    await buttons[0].onclick();
    const post = tab.requests.find((r) => r.method === "POST");
    assert.deepEqual(post, { path: "/runninghub/tasks/recover", method: "POST", type: "application/json",
      body: { site: "cn", task_id: "2000000000000000004", row: null, locale: "en-US" } });
  } finally {
    tab.close();
  }
});

test("an ambiguous submit takes the task id pasted from the site's call records", async () => {
  const tab = await open();
  try {
    const box = tab.cards[1].find((e) => e.className === "runninghub-ambiguous");
    box.find((e) => e.tag === "input").value = " 2000000000000000009 ";
    await box.find((e) => e.tag === "button").onclick();
    assert.deepEqual(tab.requests.find((r) => r.method === "POST").body,
      { site: "cn", task_id: "2000000000000000009", row: 3, locale: "en-US" });
  } finally {
    tab.close();
  }
});

test("a saved video plays in the tab from the pack's video route", async () => {
  const tab = await open();
  try {
    const play = tab.cards[2].find((e) => e.tag === "button" && e.textContent === "Play");
    play.onclick();
    const video = tab.cards[2].find((e) => e.tag === "video");
    assert.equal(video.src, "/api/runninghub/tasks/video?site=cn&task_id=2000000000000000002");
    play.onclick();
    assert.equal(tab.cards[2].find((e) => e.tag === "video"), undefined);
  } finally {
    tab.close();
  }
});

test("converted references show thumbnail, site, asset id, state and when, and delete one on request", async () => {
  const tab = await open();
  try {
    await new Promise((resolve) => setTimeout(resolve, 10));  // the assets arrive after the tasks
    const section = tab.root.find((e) => e.className === "runninghub-assets");
    assert.match(section.text(), /Converted references \(real people\): 2/);
    const [active, creating] = section.all().filter((e) => e.className === "runninghub-asset");
    assert.match(active.text(), /\.cn · image · ACTIVE · converted \d{4}-\d\d-\d\d.*asset 1234567890123456789/s);
    assert.equal(active.find((e) => e.tag === "img").src,
      "/api/runninghub/assets/thumb?site=cn&asset_id=1234567890123456789");
    assert.match(creating.text(), /video · creating.*asked for, no id yet/s);
    assert.equal(creating.find((e) => e.className === "runninghub-asset-delete"), undefined);
    let asked = "";
    globalThis.confirm = (text) => { asked = text; return false; };
    const del = active.find((e) => e.className === "runninghub-asset-delete");
    await del.onclick();
    assert.equal(tab.requests.filter((r) => r.method === "POST").length, 0, "nothing deleted without a yes");
    assert.match(asked, /Delete asset 1234567890123456789 on RunningHub\?/);
    globalThis.confirm = () => true;
    await del.onclick();
    assert.deepEqual(tab.requests.find((r) => r.method === "POST"),
      { path: "/runninghub/assets/delete", method: "POST", type: "application/json",
        body: { site: "cn", asset_id: "1234567890123456789", locale: "en-US" } });
  } finally {
    delete globalThis.confirm;
    tab.close();
  }
});

test("in Chinese the tab speaks Chinese", async () => {
  const tab = await open("zh-CN");
  try {
    assert.match(tab.cards[0].text(), /运行中.*5 秒 · 720p.*费用未知/s);
    assert.match(tab.cards[1].text(), /未收到回复 · 可能已扣费.*调用记录/s);
    assert.match(tab.root.find((e) => e.className === "runninghub-totals").text(), /今天：0\.75 元 \(\.cn\)/);
  } finally {
    tab.close();
  }
});

test("the budget setting saves an amount per site and turns it off", async () => {
  const tab = await open();
  try {
    const setting = tab.ext.settings.find((s) => s.id === "RunningHub.Budget.cn");
    assert.equal(setting.defaultValue, "");
    const panel = setting.type();
    panel.find((e) => e.className === "runninghub-budget-input").value = "2.5";
    await panel.find((e) => e.className === "runninghub-budget-save").onclick();
    const off = panel.find((e) => e.tag === "button" && e.textContent === "Off");
    await off.onclick();
    const posts = tab.requests.filter((r) => r.method === "POST").map((r) => r.body);
    assert.deepEqual(posts, [{ site: "cn", amount: 2.5, locale: "en-US" }, { site: "cn", amount: null, locale: "en-US" }]);
  } finally {
    tab.close();
  }
});

test("a task's place in a batch shows under the batch's header only, in the tab's language", async () => {
  const saved = structuredClone(TASKS);
  TASKS.tasks[0].batch = { id: "comfy:p:3", name: "Seedance · node 3", item: "item 1" };
  TASKS.tasks[2].batch = { id: "comfy:p:3", name: "Seedance · node 3", item: "item 2" };
  TASKS.tasks[1].batch = { id: "comfy:q:5", name: "Seedance · node 5", item: "item 1" };  // a lone run: no group
  TASKS.batches = [{ id: "comfy:p:3", name: "Seedance · node 3", tasks: 2, saved: 1, cost: 0.75, currency: "CNY" }];
  const tab = await open("zh-CN");
  try {
    const byRow = Object.fromEntries(tab.cards.map((c) => [c.dataset.row, c.text()]));
    assert.match(byRow[4], /第 1 项/);
    assert.match(byRow[2], /第 2 项/);
    assert.doesNotMatch(byRow[3], /第 1 项|item/);
  } finally {
    tab.close();
    for (const key of Object.keys(TASKS)) delete TASKS[key];
    Object.assign(TASKS, saved);
  }
});

test("a damaged budget file shows in Settings as the server words it in the browser's language, never as '?'", async () => {
  const tab = await open("zh-CN");
  const line = "预算文件 /state/budget.json 已损坏或无法读取，在重置之前所有运行都会被拒绝：请删除（或修复）该文件，" +
    "然后在 设置 → RunningHub 中重新设置每日预算";
  BUDGET.answer = { error: line, code: "budget_file" };
  try {
    const panel = tab.ext.settings.find((s) => s.id === "RunningHub.Budget.cn").type();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(tab.requests.find((r) => r.path.startsWith("/runninghub/budget")).path, "/runninghub/budget?locale=zh-CN");
    assert.match(panel.text(), /预算文件 \/state\/budget\.json 已损坏.*所有运行都会被拒绝.*请删除/);
    assert.doesNotMatch(panel.text(), /\?|undefined/);
    BUDGET.answer = BUDGET.unanswered;  // ComfyUI gone (restarting): say so, in Chinese
    const again = tab.ext.settings.find((s) => s.id === "RunningHub.Budget.cn").type();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.match(again.text(), /无法读取每日预算：ComfyUI 没有响应，请刷新页面/);
  } finally {
    BUDGET.answer = null;
    tab.close();
  }
});

test("a row's reason shows in the tab's language, the English its journal keeps on hover", async () => {
  const saved = structuredClone(TASKS);
  Object.assign(TASKS.tasks[1], { phase: "failed", state: "rejected", error: "已在上传前拒绝：本次运行（0.14 元）会超过 .cn 的每日预算",
    error_detail: "Refused before uploading anything: this run costs 0.14 CNY (price preview)" });
  const tab = await open("zh-CN");
  try {
    const reason = tab.cards[1].find((e) => e.className === "runninghub-error");
    assert.equal(reason.textContent, TASKS.tasks[1].error);
    assert.equal(reason.title, "Refused before uploading anything: this run costs 0.14 CNY (price preview)");
  } finally {
    tab.close();
    for (const key of Object.keys(TASKS)) delete TASKS[key];
    Object.assign(TASKS, saved);
  }
});

const DAMAGED = { error: "the budget file /state/budget.json is damaged or unreadable, so every run is refused until the " +
  "budget is set again", code: "budget_file" };
const SET_AGAIN = { sites: { cn: { site: "cn", currency: "CNY", budget: 3, spent: 0 }, ai: { site: "ai", currency: "USD", budget: 0, spent: 0 } },
  kept_as: "/state/budget.json.damaged-20261206-230000",
  note: "The damaged budget file was kept as /state/budget.json.damaged-20261206-230000; a new one now holds the budget." };
const shown = (node) => node.style.display !== "none" && (!node.parent || shown(node.parent));
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

test("Settings sets the budget again over a damaged file: an amount, never an empty box read as 'no budget'", async () => {
  const tab = await open();
  Object.assign(BUDGET, { answer: DAMAGED, reset: SET_AGAIN });
  try {
    const panel = tab.ext.settings.find((s) => s.id === "RunningHub.Budget.cn").type();
    const ai = tab.ext.settings.find((s) => s.id === "RunningHub.Budget.ai").type();
    await settle();
    const form = panel.find((e) => e.className === "runninghub-budget-reset-form");
    const again = panel.find((e) => e.className === "runninghub-budget-reset");
    assert.ok(shown(form) && !shown(panel.find((e) => e.className === "runninghub-budget-save")));
    assert.equal(again.textContent, "Set the budget again");
    await again.onclick();  // nothing typed: asked for an amount, nothing sent
    assert.match(panel.text(), /Enter the amount a day, or choose No budget\./);
    assert.equal(tab.requests.filter((r) => r.method === "POST").length, 0);
    panel.find((e) => e.className === "runninghub-budget-reset-input").value = "3";
    await again.onclick();
    await settle();
    const posts = tab.requests.filter((r) => r.method === "POST");
    assert.deepEqual(posts.map((r) => [r.path, r.body]), [["/runninghub/budget/reset", { site: "cn", amount: 3, locale: "en-US" }]]);
    assert.match(panel.find((e) => e.className === "runninghub-budget-note").textContent, /kept as \/state\/budget\.json\.damaged-/);
    assert.match(panel.find((e) => e.className === "runninghub-budget-status").textContent, /3\.00 CNY a day/);
    assert.ok(!shown(form) && shown(panel.find((e) => e.className === "runninghub-budget-save")));
    // the file is sound for .ai too: its panel says so at once, with the budget it holds now
    assert.ok(!shown(ai.find((e) => e.className === "runninghub-budget-reset-form")));
    assert.match(ai.find((e) => e.className === "runninghub-budget-status").textContent, /\$0\.00 a day/);
    assert.doesNotMatch(ai.text(), /damaged or unreadable/);
  } finally {
    Object.assign(BUDGET, { answer: null, reset: null });
    tab.close();
  }
});

test("No budget over a damaged file is asked for explicitly and confirmed, in the browser's language", async () => {
  const tab = await open("zh-CN");
  Object.assign(BUDGET, { answer: DAMAGED, reset: SET_AGAIN });
  let asked = "";
  try {
    const panel = tab.ext.settings.find((s) => s.id === "RunningHub.Budget.cn").type();
    await settle();
    const none = panel.find((e) => e.className === "runninghub-budget-reset-none");
    assert.equal(panel.find((e) => e.className === "runninghub-budget-reset").textContent, "重新设置预算");
    assert.equal(none.textContent, "不设预算");
    globalThis.confirm = (text) => { asked = text; return false; };
    await none.onclick();
    assert.match(asked, /不为 \.cn 设每日预算/);
    assert.equal(tab.requests.filter((r) => r.method === "POST").length, 0);
    globalThis.confirm = () => true;
    await none.onclick();
    const post = tab.requests.find((r) => r.method === "POST");
    assert.deepEqual([post.path, post.body], ["/runninghub/budget/reset", { site: "cn", no_budget: true, locale: "zh-CN" }]);
  } finally {
    delete globalThis.confirm;
    Object.assign(BUDGET, { answer: null, reset: null });
    tab.close();
  }
});

test("the RunningHub tab sets the budget again under the damaged file's line and then says where it went", async () => {
  const { budgets } = TASKS;
  Object.assign(TASKS, { budgets: {}, budget_error: DAMAGED.error });
  BUDGET.reset = SET_AGAIN;
  const tab = await open();
  try {
    const totals = tab.root.find((e) => e.className === "runninghub-totals");
    const fix = totals.find((e) => e.className === "runninghub-budget-fix");
    assert.match(fix.text(), /Set the daily budget again.*Daily budget \.cn.*Daily budget \.ai/s);
    const [cn] = fix.all().filter((e) => e.className === "runninghub-budget-reset-input");
    cn.value = "3";
    Object.assign(TASKS, { budgets, budget_error: undefined });  // what the server answers once the file is sound
    await fix.find((e) => e.className === "runninghub-budget-reset").onclick();
    await settle();
    const post = tab.requests.find((r) => r.method === "POST");
    assert.deepEqual([post.path, post.body], ["/runninghub/budget/reset", { site: "cn", amount: 3, locale: "en-US" }]);
    assert.match(totals.text(), /Daily budget \.cn.*kept as \/state\/budget\.json\.damaged-20261206-230000/s);
    assert.ok(!totals.find((e) => e.className === "runninghub-budget-fix"));
  } finally {
    tab.close();
    delete TASKS.budget_error;
    TASKS.budgets = budgets;
    BUDGET.reset = null;
  }
});
