// The local playground: plays users in conversations with the bot through the local channel,
// shows the bot's answers and proactive messages live (server-sent events), and what the bot
// knows about the open conversation through its own routes (proxied by the channel).
//
// No framework, no build step. Everything the bot or a user wrote is put in the page as text
// (textContent), never as HTML.
"use strict";

(() => {
  const CHANNEL = "/_channel";
  const BOT = "/_channel/bot";
  const STORAGE_KEY = "proactive-playground:" + location.host;
  const FINAL_STATUSES = new Set(["Delivered", "Unconfirmed", "Failed", "Expired", "Refused"]);
  const GOOD_STATUSES = new Set(["Delivered"]);
  const RECEIPT_POLL_MS = 1500;
  const RECEIPT_POLL_LIMIT_MS = 5 * 60 * 1000;
  const HEALTH_POLL_MS = 15000;
  const MAX_RECEIPTS = 20;
  const PROACTIVE_EXPLANATION =
    "Proactive: the bot sent this on its own, not as a reply to a message it was answering.";
  const TIMEZONE = (() => {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
    } catch {
      return null;
    }
  })();

  const state = {
    info: null,
    queue: null,
    conversations: [],
    currentConversationId: null,
    currentUserId: null,
    draftUserName: "Ada Lovelace",
    feedInstance: null,
    lastSequence: 0,
    entries: new Map(),
    unread: new Map(),
    ready: false,
    receipts: [],
    receiptTimer: null,
    deliveriesAvailable: true,
    timers: new Map(),
    teams: [],
  };

  // ---------------------------------------------------------------- small helpers

  const $ = (id) => document.getElementById(id);

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function soon(key, action, delay = 300) {
    clearTimeout(state.timers.get(key));
    state.timers.set(key, setTimeout(action, delay));
  }

  function shortId(id) {
    return id && id.length > 18 ? id.slice(0, 10) + "…" + id.slice(-5) : id || "";
  }

  function timeOf(text) {
    if (!text) return "";
    const moment = new Date(text);
    if (Number.isNaN(moment.getTime())) return text;
    return moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function dateTimeOf(text) {
    if (!text) return "—";
    const moment = new Date(text);
    if (Number.isNaN(moment.getTime())) return text;
    return moment.toLocaleString([], {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function safeUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value, location.href);
      return ["http:", "https:", "data:"].includes(url.protocol) ? url.href : null;
    } catch {
      return null;
    }
  }

  function setStatus(node, text, kind) {
    node.textContent = text;
    if (kind) node.dataset.state = kind;
    else delete node.dataset.state;
  }

  function save() {
    try {
      localStorage.setItem(
        STORAGE_KEY,
        JSON.stringify({
          currentUserId: state.currentUserId,
          currentConversationId: state.currentConversationId,
          receipts: state.receipts.slice(0, MAX_RECEIPTS),
        }),
      );
    } catch {
      // Private windows may refuse storage: the page works without it.
    }
  }

  function restore() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
      state.currentUserId = saved.currentUserId || null;
      state.currentConversationId = saved.currentConversationId || null;
      state.receipts = Array.isArray(saved.receipts) ? saved.receipts : [];
    } catch {
      state.receipts = [];
    }
  }

  // ---------------------------------------------------------------- HTTP

  async function call(method, path, body) {
    const options = { method, headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      if (body !== undefined) options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch {
      return {
        ok: false, status: 0, body: null,
        error: { code: "NetworkError", message: "the local channel did not answer" },
      };
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    const error = data && typeof data === "object" && data.error ? data.error : null;
    return { ok: response.ok, status: response.status, body: data, error };
  }

  // The bot has no such route (yet): the local host answers 404 "no function serves ...",
  // Core Tools an empty 404, and a route with other methods 405.
  function routeMissing(result) {
    if (result.status === 405) return true;
    if (result.status !== 404) return false;
    return !result.error || /no function serves/i.test(result.error.message || "");
  }

  function describeError(result) {
    if (result.error) return `${result.status || ""} ${result.error.code}: ${result.error.message}`.trim();
    return `HTTP ${result.status}`;
  }

  // ---------------------------------------------------------------- users and conversations

  function knownUsers() {
    const users = new Map();
    for (const conversation of state.conversations) {
      for (const member of conversation.members || []) {
        if (member.role !== "bot" && !users.has(member.id)) users.set(member.id, member.name);
      }
    }
    return users;
  }

  function currentUser() {
    const users = knownUsers();
    if (state.currentUserId && users.has(state.currentUserId)) {
      return { id: state.currentUserId, name: users.get(state.currentUserId) };
    }
    return { id: null, name: state.draftUserName };
  }

  function conversationById(id) {
    return state.conversations.find((conversation) => conversation.id === id) || null;
  }

  function currentConversation() {
    return conversationById(state.currentConversationId);
  }

  function usersOf(conversation) {
    return (conversation.members || []).filter((member) => member.role !== "bot");
  }

  function conversationLabel(conversation) {
    const names = usersOf(conversation).map((member) => member.name.split(" ")[0]);
    if (conversation.conversationType === "personal") {
      return usersOf(conversation)[0]?.name || "1:1 chat";
    }
    if (conversation.conversationType === "channel" && conversation.name) {
      const team = state.teams.find((item) => item.id === conversation.teamId);
      return `${team ? team.name + " › " : ""}${conversation.name}`;
    }
    return "Group: " + (names.join(", ") || "no one yet");
  }

  function conversationKind(conversation) {
    return { personal: "1:1 chat", groupChat: "group chat", channel: "team channel" }[
      conversation.conversationType] || conversation.conversationType;
  }

  async function loadConversations() {
    const before = state.currentConversationId;
    const result = await call("GET", `${CHANNEL}/conversations`);
    if (result.ok && result.body && Array.isArray(result.body.conversations)) {
      state.conversations = result.body.conversations;
    }
    if (state.currentConversationId && !currentConversation()) {
      state.currentConversationId = null;
    }
    if (!state.currentUserId || !knownUsers().has(state.currentUserId)) {
      const latest = state.conversations[state.conversations.length - 1];
      state.currentUserId = latest ? usersOf(latest)[0]?.id || null : null;
    }
    if (!state.currentConversationId && state.currentUserId) {
      state.currentConversationId = latestConversationOf(state.currentUserId)?.id || null;
    }
    renderPeople();
    renderChatHeader();
    if (state.currentConversationId !== before) {
      renderLog();
      refreshInspector();
    }
  }

  function latestConversationOf(userId, personalOnly = false) {
    const mine = state.conversations.filter(
      (conversation) =>
        usersOf(conversation).some((member) => member.id === userId) &&
        (!personalOnly || conversation.conversationType === "personal"),
    );
    return mine[mine.length - 1] || null;
  }

  function selectConversation(id) {
    const conversation = conversationById(id);
    if (!conversation) return;
    state.currentConversationId = id;
    const members = usersOf(conversation);
    // A 1:1 chat belongs to its user: opening it means writing as them. In a group, the
    // current user stays (and joins the group by writing in it).
    if (members.length && (conversation.conversationType === "personal" || !state.currentUserId)) {
      state.currentUserId = members[0].id;
    }
    state.unread.delete(id);
    save();
    renderPeople();
    renderChatHeader();
    renderLog();
    refreshInspector();
    $("composer-text").focus();
  }

  function selectUser(userId) {
    state.currentUserId = userId;
    const open = currentConversation();
    const isMember = open && usersOf(open).some((member) => member.id === userId);
    if (!open || (!isMember && open.conversationType === "personal")) {
      state.currentConversationId = latestConversationOf(userId)?.id || null;
    }
    save();
    renderPeople();
    renderChatHeader();
    renderLog();
    refreshInspector();
  }

  async function startConversation({ userName, userId, conversationType }) {
    const body = { conversationType: conversationType || "personal" };
    if (userId) body.userId = userId;
    if (userName) body.userName = userName;
    if (TIMEZONE) body.timezone = TIMEZONE;
    const result = await call("POST", `${CHANNEL}/conversations`, body);
    if (!result.ok) {
      logNote(`Could not start the conversation: ${describeError(result)}`, true);
      return;
    }
    state.currentConversationId = result.body.conversationId;
    state.currentUserId = result.body.userId;
    reportBotAnswer(result.body.started, "the conversation update");
    await loadConversations();
    save();
    renderLog();
    refreshInspector();
  }

  // ---------------------------------------------------------------- talking

  // Posts what the current user does (a message, an event) to the channel, in the open
  // conversation or a new 1:1 chat, and follows the conversation it landed in. Returns the
  // channel's answer, or null when it refused (the error is in the result given to onError).
  async function talk(route, fields, button, what, onError) {
    const user = currentUser();
    const body = { ...fields, userName: user.name };
    if (state.currentConversationId) body.conversationId = state.currentConversationId;
    if (user.id) body.userId = user.id;
    if (TIMEZONE) body.timezone = TIMEZONE;
    const before = state.currentConversationId;
    button.disabled = true;
    const result = await call("POST", `${CHANNEL}/${route}`, body);
    button.disabled = false;
    if (!result.ok) {
      onError(result);
      return null;
    }
    const answer = result.body;
    if (answer.conversationId !== before || answer.userId !== state.currentUserId) {
      state.currentConversationId = answer.conversationId;
      state.currentUserId = answer.userId;
      await loadConversations();
      save();
      renderLog();
    } else if (answer.started) {
      // Someone joined (a group chat): its members changed.
      await loadConversations();
    }
    reportBotAnswer(answer.started, "the conversation update");
    reportBotAnswer(answer.response, what);
    refreshInspector();
    return answer;
  }

  async function say(text) {
    await talk("say", { text }, $("composer-send"), "your message",
      (result) => logNote(`Not sent: ${describeError(result)}`, true));
  }

  // An event activity from the user's client (DeviceStart from a car), as the current user in
  // the open conversation (or a new 1:1 chat). The value is JSON, or nothing.
  async function sendEvent(event) {
    event.preventDefault();
    const status = $("event-status");
    const name = $("event-name").value.trim();
    if (!name) {
      setStatus(status, "Name the event.", "bad");
      return;
    }
    const raw = $("event-value").value.trim();
    let value = null;
    if (raw) {
      try {
        value = JSON.parse(raw);
      } catch (error) {
        setStatus(status, `The value is not JSON: ${error.message}`, "bad");
        return;
      }
    }
    const sender = currentUser().name;
    const answer = await talk("event", { name, value }, $("event-submit"), `the event ${name}`,
      (result) => setStatus(status, `Not sent: ${describeError(result)}`, "bad"));
    if (!answer) return;
    const code = answer.response ? answer.response.status : "?";
    setStatus(status, `Sent ${name} as ${sender}; the bot answered HTTP ${code}.`,
      answer.response && answer.response.status < 300 ? "ok" : "bad");
  }

  function reportBotAnswer(answer, what) {
    if (!answer || answer.status < 300) return;
    const body = answer.body;
    const detail = body && body.error ? `${body.error.code}: ${body.error.message}` : "";
    logNote(`The bot answered ${answer.status} to ${what}. ${detail}`.trim(), true);
  }

  // ---------------------------------------------------------------- live feed

  function connectEvents() {
    const source = new EventSource(`${CHANNEL}/events`);
    source.addEventListener("activity", (event) => {
      const instance = (event.lastEventId || "").split(":")[0];
      if (state.feedInstance && instance && instance !== state.feedInstance) resetFeed();
      state.feedInstance = instance || state.feedInstance;
      const entry = JSON.parse(event.data);
      if (entry.sequence <= state.lastSequence) return;
      state.lastSequence = entry.sequence;
      addEntry(entry);
    });
    source.addEventListener("ready", (event) => {
      const data = JSON.parse(event.data);
      if (state.feedInstance && data.instance !== state.feedInstance) resetFeed();
      state.feedInstance = data.instance;
      const firstTime = !state.ready;
      state.ready = true;
      document.body.dataset.stream = "live";
      if (firstTime) renderLog();
    });
    source.addEventListener("error", () => {
      document.body.dataset.stream = "reconnecting";
    });
  }

  function resetFeed() {
    // The channel restarted: its conversations and their history are gone.
    state.entries.clear();
    state.unread.clear();
    state.lastSequence = 0;
    loadConversations().then(renderLog);
  }

  function addEntry(entry) {
    const id = entry.conversationId;
    if (!state.entries.has(id)) state.entries.set(id, []);
    state.entries.get(id).push(entry);
    if (!conversationById(id)) soon("conversations", loadConversations, 200);
    if (id === state.currentConversationId) {
      if (state.ready) appendEntry(entry, true);
      if (entry.kind === "bot" || entry.kind === "user") {
        soon("reference", refreshReference, 500);
        soon("schedules", refreshSchedules, 700);
      }
    } else if (state.ready && entry.kind === "bot") {
      state.unread.set(id, (state.unread.get(id) || 0) + 1);
      renderConversationList();
    }
    if (entry.proactive) soon("receipts", refreshReceipts, 200);
  }

  // ---------------------------------------------------------------- rendering: people

  function renderPeople() {
    const select = $("user-select");
    const users = knownUsers();
    const me = currentUser();
    select.replaceChildren();
    if (!me.id) select.append(el("option", { value: "" }, `${me.name} (new)`));
    for (const [id, name] of users) {
      select.append(el("option", { value: id, selected: id === me.id }, name));
    }
    $("composer-user").textContent = me.name;
    $("event-user").textContent = me.name;
    renderConversationList();
  }

  function renderConversationList() {
    // The open conversation has nothing unread: its messages are on screen.
    state.unread.delete(state.currentConversationId);
    const list = $("conversation-list");
    list.replaceChildren();
    const newestFirst = [...state.conversations].reverse();
    for (const conversation of newestFirst) {
      const current = conversation.id === state.currentConversationId;
      const unread = state.unread.get(conversation.id) || 0;
      const button = el(
        "button",
        {
          type: "button",
          class: "conversation-item",
          "aria-current": current ? "true" : null,
          dataset: { conversationId: conversation.id },
        },
        el("span", { class: "conversation-name" }, conversationLabel(conversation)),
        unread
          ? el("span", { class: "unread", "aria-label": `${unread} new` }, String(unread))
          : el("span"),
        el("span", { class: "conversation-meta" },
          `${conversationKind(conversation)} · ${shortId(conversation.id)}`),
      );
      button.addEventListener("click", () => selectConversation(conversation.id));
      list.append(el("li", {}, button));
    }
    $("conversation-empty").hidden = state.conversations.length > 0;
  }

  function renderChatHeader() {
    const conversation = currentConversation();
    const me = currentUser();
    if (!conversation) {
      $("chat-title").textContent = "New conversation";
      $("chat-subtitle").textContent =
        `Your first message starts a 1:1 chat between ${me.name} and the bot.`;
      $("chat-subtitle").title = "";
      return;
    }
    const names = usersOf(conversation).map((member) => member.name).join(", ");
    $("chat-title").textContent =
      conversation.conversationType === "personal" ? `Chat with the bot · ${names}` : conversationLabel(conversation);
    const subtitle = `${conversationKind(conversation)} · ${conversation.channelId} · ${conversation.id}`;
    $("chat-subtitle").textContent = subtitle;
    $("chat-subtitle").title = subtitle;
  }

  // ---------------------------------------------------------------- rendering: the log

  function renderLog() {
    const log = $("message-log");
    log.replaceChildren();
    const entries = state.entries.get(state.currentConversationId) || [];
    if (!state.currentConversationId || entries.length === 0) {
      log.append($("empty-log").content.cloneNode(true));
      return;
    }
    for (const entry of entries) appendEntry(entry, false);
    log.scrollTop = log.scrollHeight;
  }

  function appendEntry(entry, live) {
    const log = $("message-log");
    log.querySelector(".empty-state")?.remove();
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
    const node = entryElement(entry, log);
    if (node) {
      if (live) node.classList.add("arrived");
      log.append(node);
    }
    if (nearBottom || !live) log.scrollTop = log.scrollHeight;
  }

  function entryElement(entry, log) {
    const activity = entry.activity || {};
    switch (entry.kind) {
      case "user":
        if (activity.type === "message") return messageElement(entry, log);
        if (activity.type === "conversationUpdate") {
          const joined = (activity.membersAdded || [])
            .filter((member) => member.role !== "bot" && member.id !== activity.recipient?.id)
            .map((member) => member.name || member.id);
          return note(`${joined.join(", ") || "Someone"} joined the conversation`);
        }
        if (activity.type === "event") {
          const value = activity.value === undefined || activity.value === null
            ? "" : ` ${JSON.stringify(activity.value)}`;
          const item = note(`${activity.from?.name || "A user"}'s device sent the event ${activity.name || "(no name)"}${value}`);
          item.dataset.event = activity.name || "";
          return item;
        }
        return note(`${activity.from?.name || "A user"} sent a ${activity.type} activity`);
      case "bot":
        if (activity.type === "message") return messageElement(entry, log);
        if (activity.type === "typing") return null;
        return note(`The bot sent a ${activity.type || "typeless"} activity`);
      case "update":
        return applyUpdate(entry, log);
      case "delete":
        return applyDelete(entry, log);
      case "refused":
        return note(
          `The channel refused a message from the bot: ${entry.status} ${entry.errorCode || ""}` +
            (entry.status === 429 || entry.status >= 500 ? " (the bot retries)" : ""),
          true,
        );
      default:
        return null;
    }
  }

  function note(text, error = false) {
    return el("li", { class: `system-note${error ? " error" : ""}` }, text);
  }

  function logNote(text, error = false) {
    const log = $("message-log");
    log.querySelector(".empty-state")?.remove();
    log.append(note(text, error));
    log.scrollTop = log.scrollHeight;
  }

  function messageElement(entry, log) {
    const activity = entry.activity || {};
    const fromUser = entry.kind === "user";
    const classes = ["message", fromUser ? "from-user" : "from-bot"];
    if (entry.proactive) classes.push("proactive");
    const item = el("li", {
      class: classes.join(" "),
      dataset: {
        kind: entry.kind,
        proactive: String(Boolean(entry.proactive)),
        activityId: entry.activityId || "",
      },
    });
    const sender = activity.from?.name || (fromUser ? "User" : "Bot");
    const meta = el("p", { class: "message-meta" },
      el("span", {}, sender),
      el("time", { datetime: entry.receivedAt }, timeOf(entry.receivedAt)));
    if (entry.proactive) {
      meta.append(el("span", { class: "badge proactive", title: PROACTIVE_EXPLANATION }, "Proactive"));
    }
    item.append(meta);
    fillMessage(item, activity);
    // Like Teams, only the newest message keeps its suggested actions.
    log.querySelectorAll(".suggested").forEach((node) => node.remove());
    const suggested = activity.suggestedActions?.actions;
    if (!fromUser && Array.isArray(suggested) && suggested.length) {
      item.append(el("div", { class: "actions suggested", role: "group", "aria-label": "Suggested replies" },
        ...suggested.map(actionElement)));
    }
    return item;
  }

  function fillMessage(item, activity) {
    const text = typeof activity.text === "string" ? activity.text : "";
    const attachments = Array.isArray(activity.attachments) ? activity.attachments : [];
    if (text || attachments.length === 0) {
      item.append(el("div", { class: "bubble" }, text || "(an empty message)"));
    }
    for (const attachment of attachments) {
      item.append(attachmentElement(attachment, item.dataset.activityId || ""));
    }
  }

  function applyUpdate(entry, log) {
    const target = findMessage(log, entry.activityId);
    if (!target) return note("The bot updated a message that is not shown here");
    const meta = target.querySelector(".message-meta");
    target.replaceChildren(meta);
    fillMessage(target, entry.activity || {});
    if (!meta.querySelector(".edited")) meta.append(el("span", { class: "edited" }, "(edited)"));
    return null;
  }

  function applyDelete(entry, log) {
    const target = findMessage(log, entry.activityId);
    if (!target) return note("The bot deleted a message");
    const meta = target.querySelector(".message-meta");
    target.replaceChildren(meta, el("div", { class: "bubble" }, "This message was deleted."));
    target.classList.add("deleted");
    return null;
  }

  function findMessage(log, activityId) {
    if (!activityId) return null;
    return [...log.querySelectorAll(".message")].find((node) => node.dataset.activityId === activityId) || null;
  }

  // ---------------------------------------------------------------- cards

  function attachmentElement(attachment, activityId) {
    const type = attachment.contentType || "";
    const content = attachment.content || {};
    if (type === "application/vnd.microsoft.card.hero" || type === "application/vnd.microsoft.card.thumbnail") {
      return heroCard(content, type.endsWith("thumbnail") ? "Thumbnail card" : "Hero card");
    }
    if (type === "application/vnd.microsoft.card.adaptive") {
      return renderedAdaptiveCard(content, activityId) || adaptiveCard(content);
    }
    const name = attachment.name ? ` “${attachment.name}”` : "";
    const link = safeUrl(attachment.contentUrl);
    return el("div", { class: "card" },
      el("p", { class: "card-kind" }, "Attachment"),
      link ? el("a", { href: link, target: "_blank", rel: "noopener noreferrer" }, `${type}${name}`)
        : el("p", { class: "card-text" }, `${type || "unknown type"}${name}`));
  }

  function heroCard(content, kind) {
    const card = el("div", { class: "card" }, el("p", { class: "card-kind" }, kind));
    for (const image of content.images || []) {
      const source = safeUrl(image.url);
      if (source) card.append(el("img", { src: source, alt: image.alt || "" }));
    }
    if (content.title) card.append(el("p", { class: "card-title" }, content.title));
    if (content.subtitle) card.append(el("p", { class: "card-subtitle" }, content.subtitle));
    if (content.text) card.append(el("p", { class: "card-text" }, content.text));
    if (Array.isArray(content.buttons) && content.buttons.length) {
      card.append(el("div", { class: "actions" }, ...content.buttons.map(actionElement)));
    }
    return card;
  }

  // Microsoft's renderer (the adaptivecards package), as Teams renders cards. Action.Execute
  // sends the invoke Teams sends and shows the card the bot answers, for this user only; the
  // bot's update for everyone arrives through the feed as an "update" entry. A card whose
  // refresh.userIds lists this user is refreshed once when shown (the automatic invoke, through
  // the channel's /view), as Teams does: that user sees their own view.
  function renderedAdaptiveCard(content, activityId, refreshed = false) {
    const library = window.AdaptiveCards;
    if (!library) return null;
    const holder = el("div", { class: "card adaptive-card", dataset: { renderer: "adaptivecards" } });
    try {
      const card = new library.AdaptiveCard();
      card.hostConfig = new library.HostConfig({ fontFamily: "inherit" });
      card.onExecuteAction = (action) => executeCardAction(action, holder, activityId);
      card.parse(content);
      const rendered = card.render();
      if (!rendered) return null;
      holder.append(rendered);
    } catch {
      return null;
    }
    if (refreshed) holder.dataset.refreshed = "true";
    else if (activityId && refreshesFor(content, currentUser().id)) refreshCardView(holder, activityId);
    return holder;
  }

  function refreshesFor(content, userId) {
    const refresh = content && content.refresh;
    return Boolean(userId && refresh && Array.isArray(refresh.userIds) && refresh.userIds.includes(userId));
  }

  async function refreshCardView(holder, activityId) {
    const user = currentUser();
    const body = {
      conversationId: state.currentConversationId,
      activityId,
      userId: user.id,
      userName: user.name,
    };
    const result = await call("POST", `${CHANNEL}/view`, body);
    if (!result.ok || !result.body?.refreshed || !holder.isConnected) return;
    const replacement = renderedAdaptiveCard(result.body.card, activityId, true);
    if (replacement) holder.replaceWith(replacement);
  }

  async function executeCardAction(action, holder, activityId) {
    const type = action.getJsonTypeName();
    if (type === "Action.OpenUrl") {
      const link = safeUrl(action.url);
      if (link) window.open(link, "_blank", "noopener,noreferrer");
      return;
    }
    if (type !== "Action.Execute") {
      logNote(`${type} is not sent by the local channel; use Action.Execute`, true);
      return;
    }
    const user = currentUser();
    const data = action.data && typeof action.data === "object" ? action.data : {};
    const body = {
      conversationId: state.currentConversationId,
      name: "adaptiveCard/action",
      value: { action: { type: "Action.Execute", verb: action.verb, data }, trigger: "manual" },
      replyToId: activityId || undefined,
      userName: user.name,
    };
    if (user.id) body.userId = user.id;
    holder.dataset.state = "pending";
    const result = await call("POST", `${CHANNEL}/invoke`, body);
    delete holder.dataset.state;
    const answer = result.ok ? result.body?.response?.body : null;
    if (!answer || typeof answer !== "object") {
      logNote(`The card action failed: ${describeError(result)}`, true);
      return;
    }
    if (answer.type === "application/vnd.microsoft.card.adaptive" && answer.value) {
      const replacement = renderedAdaptiveCard(answer.value, activityId);
      if (replacement) holder.replaceWith(replacement);
    } else if (answer.type === "application/vnd.microsoft.activity.message") {
      logNote(String(answer.value || ""));
    } else {
      logNote(`The bot answered the card action with an error: ${answer.value?.message || answer.statusCode}`, true);
    }
  }

  function adaptiveCard(content) {
    const card = el("div", { class: "card" }, el("p", { class: "card-kind" }, "Adaptive card"));
    adaptiveItems(content.body, card);
    const actions = (content.actions || []).map(adaptiveAction).filter(Boolean);
    if (actions.length) card.append(el("div", { class: "actions" }, ...actions));
    return card;
  }

  function adaptiveItems(items, container) {
    for (const item of Array.isArray(items) ? items : []) {
      if (!item || typeof item !== "object") continue;
      switch (item.type) {
        case "TextBlock": {
          const heading = ["large", "extraLarge"].includes(item.size) || item.weight === "bolder";
          container.append(el("p", { class: heading ? "card-title" : "card-text" }, item.text || ""));
          break;
        }
        case "RichTextBlock": {
          const text = (item.inlines || []).map((inline) => (typeof inline === "string" ? inline : inline.text || "")).join("");
          container.append(el("p", { class: "card-text" }, text));
          break;
        }
        case "FactSet": {
          const list = el("dl");
          for (const fact of item.facts || []) list.append(el("dt", {}, fact.title || ""), el("dd", {}, fact.value || ""));
          container.append(list);
          break;
        }
        case "Image": {
          const source = safeUrl(item.url);
          if (source) container.append(el("img", { src: source, alt: item.altText || "" }));
          break;
        }
        case "ImageSet":
          adaptiveItems(item.images, container);
          break;
        case "Container":
          adaptiveItems(item.items, container);
          break;
        case "ColumnSet":
          for (const column of item.columns || []) adaptiveItems(column.items, container);
          break;
        case "ActionSet": {
          const actions = (item.actions || []).map(adaptiveAction).filter(Boolean);
          if (actions.length) container.append(el("div", { class: "actions" }, ...actions));
          break;
        }
        default:
          if (typeof item.type === "string" && item.type.startsWith("Input.")) {
            container.append(el("p", { class: "card-text muted" }, `[${item.label || item.placeholder || item.id || "input"}]`));
          }
      }
    }
  }

  function adaptiveAction(action) {
    if (!action || typeof action !== "object") return null;
    if (action.type === "Action.OpenUrl") return actionElement({ type: "openUrl", title: action.title, value: action.url });
    const data = action.data;
    if (data && typeof data === "object" && data.msteams && typeof data.msteams === "object") {
      const teams = data.msteams;
      if (teams.type === "imBack") return actionElement({ type: "imBack", title: action.title, value: teams.value });
      if (teams.type === "messageBack") return actionElement({ type: "messageBack", title: action.title, text: teams.text, displayText: teams.displayText });
    }
    if (typeof data === "string") return actionElement({ type: "imBack", title: action.title, value: data });
    return actionElement({ type: action.type || "unsupported", title: action.title || "Submit" });
  }

  function actionText(action) {
    switch (action.type) {
      case "imBack":
      case "postBack":
        return typeof action.value === "string" ? action.value : null;
      case "messageBack":
        return action.text || action.displayText || null;
      default:
        return null;
    }
  }

  function actionElement(action) {
    const title = action.title || action.text || (typeof action.value === "string" ? action.value : "Action");
    if (action.type === "openUrl") {
      const link = safeUrl(action.value);
      if (link) return el("a", { class: "button", href: link, target: "_blank", rel: "noopener noreferrer" }, title);
    }
    const text = actionText(action);
    const button = el("button", { type: "button", class: "button" }, title);
    if (text) {
      button.addEventListener("click", () => say(text));
    } else {
      button.disabled = true;
      button.title = "The local channel sends text messages only";
    }
    return button;
  }

  // ---------------------------------------------------------------- inspector

  function refreshInspector() {
    renderEnqueueAvailability();
    refreshReference();
    refreshSchedules();
    renderReceipts();
  }

  function referenceQuery(conversation) {
    const query = new URLSearchParams({ channelId: conversation.channelId, conversationId: conversation.id });
    if (conversation.tenantId) query.set("tenantId", conversation.tenantId);
    return query;
  }

  async function refreshReference() {
    const body = $("reference-body");
    const conversation = currentConversation();
    if (!conversation) {
      body.replaceChildren(el("p", { class: "muted small" }, "Open a conversation to see what the bot stored about it."));
      return;
    }
    const result = await call("GET", `${BOT}/references?${referenceQuery(conversation)}`);
    if (conversation.id !== state.currentConversationId) return;
    if (routeMissing(result)) {
      body.replaceChildren(el("p", { class: "muted small" }, "Not available: the bot has no /api/references route."));
      return;
    }
    if (result.status === 404) {
      body.replaceChildren(el("p", { class: "muted small" },
        "Not stored yet: the bot stores a conversation's reference when it receives an activity from it."));
      return;
    }
    if (!result.ok) {
      body.replaceChildren(el("p", { class: "small", role: "alert" }, `Could not read it: ${describeError(result)}`));
      return;
    }
    const stored = result.body;
    const status = el("span", { class: "status", dataset: { state: stored.active ? "ok" : "bad" } },
      stored.active ? "Active" : `Inactive${stored.reason ? ": " + stored.reason : ""}`);
    const rows = [
      ["State", status],
      ["Type", stored.conversationType || (stored.personal ? "personal" : "group")],
      ["User", stored.userId ? shortId(stored.userId) : "—"],
      ["Service URL", stored.reference?.serviceUrl || "—"],
      ["First seen", dateTimeOf(stored.firstSeen)],
      ["Last seen", dateTimeOf(stored.lastSeen)],
    ];
    if (stored.inactiveAt) rows.push(["Inactive since", dateTimeOf(stored.inactiveAt)]);
    const list = el("dl");
    for (const [name, value] of rows) list.append(el("dt", {}, name), el("dd", {}, value));
    body.replaceChildren(
      list,
      el("details", { class: "json-details" },
        el("summary", {}, "Reference document (as stored in Cosmos DB)"),
        el("pre", { class: "json" }, JSON.stringify(stored, null, 2))),
    );
  }

  function scheduleItems(body) {
    if (Array.isArray(body)) return body;
    if (body && typeof body === "object") {
      for (const key of ["schedules", "items", "value"]) if (Array.isArray(body[key])) return body[key];
    }
    return [];
  }

  async function refreshSchedules() {
    const noteNode = $("schedules-note");
    const list = $("schedule-list");
    const conversation = currentConversation();
    $("schedule-zone").textContent = TIMEZONE || "UTC";
    if (!conversation) {
      list.replaceChildren();
      noteNode.textContent = "Open a conversation to see its schedules.";
      $("schedule-create").hidden = true;
      return;
    }
    const query = new URLSearchParams({ conversationId: conversation.id, channelId: conversation.channelId });
    const result = await call("GET", `${BOT}/schedules?${query}`);
    if (conversation.id !== state.currentConversationId) return;
    if (routeMissing(result)) {
      list.replaceChildren();
      noteNode.textContent = "Not available: the bot has no /api/schedules route.";
      $("schedule-create").hidden = true;
      return;
    }
    $("schedule-create").hidden = false;
    if (!result.ok) {
      list.replaceChildren();
      noteNode.textContent = `Could not list them: ${describeError(result)}`;
      return;
    }
    const items = scheduleItems(result.body);
    noteNode.textContent = items.length
      ? "Cron schedules of this conversation (GET /api/schedules)."
      : "No schedules yet. Create one below, or ask the bot in the chat.";
    list.replaceChildren(...items.map(scheduleElement));
  }

  function scheduleElement(schedule) {
    const text = (schedule.activities || []).map((activity) => activity.text).filter(Boolean).join(" · ");
    const remove = el("button", { type: "button", class: "button small-button", "aria-label": `Delete schedule ${text || schedule.id}` }, "Delete");
    remove.addEventListener("click", async () => {
      remove.disabled = true;
      const result = await call("DELETE", `${BOT}/schedules/${encodeURIComponent(schedule.id)}`);
      if (!result.ok && result.status !== 404) setStatus($("schedule-status"), `Not deleted: ${describeError(result)}`, "bad");
      refreshSchedules();
    });
    const enabled = schedule.enabled !== false;
    return el("li", { class: "schedule" },
      el("div", { class: "row" },
        el("strong", {}, text || "(no text)"),
        el("span", { class: "status", dataset: { state: enabled ? "ok" : "off" } }, enabled ? "On" : "Off")),
      el("div", { class: "mono" }, `${schedule.cron || "?"}  ${schedule.timeZone || "UTC"}`),
      el("div", { class: "row muted" },
        el("span", {}, `next ${dateTimeOf(schedule.nextRunAt)} · sent ${schedule.runCount ?? 0}×`),
        remove));
  }

  async function createSchedule(event) {
    event.preventDefault();
    const conversation = currentConversation();
    const status = $("schedule-status");
    if (!conversation) {
      setStatus(status, "Open a conversation first.", "bad");
      return;
    }
    const form = event.currentTarget;
    const body = {
      conversation: { channelId: conversation.channelId, conversationId: conversation.id },
      cron: form.cron.value.trim(),
      timeZone: TIMEZONE || "UTC",
      activities: [{ type: "message", text: form.text.value.trim() }],
    };
    const result = await call("POST", `${BOT}/schedules`, body);
    if (!result.ok) {
      setStatus(status, routeMissing(result) ? "Not available: the bot has no /api/schedules route." : describeError(result), "bad");
      return;
    }
    setStatus(status, "Schedule created.", "ok");
    refreshSchedules();
  }

  // ---------------------------------------------------------------- teams

  async function loadTeams() {
    const result = await call("GET", `${CHANNEL}/teams`);
    if (result.ok && result.body && Array.isArray(result.body.teams)) state.teams = result.body.teams;
    renderTeams();
  }

  function renderTeams() {
    const list = $("team-list");
    list.replaceChildren();
    for (const team of state.teams) {
      const toggle = el(
        "button",
        { type: "button", class: "button small-button", dataset: { teamAction: team.id } },
        team.botInstalled ? "Remove bot" : "Add bot",
      );
      toggle.addEventListener("click", () => teamEvent(team, team.botInstalled ? "botRemoved" : "botAdded"));
      const channels = el("ul", { class: "team-channels" });
      for (const channel of team.channels) {
        const threads = channel.threads.length;
        channels.append(
          el("li", { dataset: { channelId: channel.id } },
            el("span", {}, channel.name || "General"),
            el("span", { class: "muted" }, `${threads} thread${threads === 1 ? "" : "s"}`)),
        );
      }
      list.append(
        el("li", { class: "team", dataset: { teamId: team.id, bot: String(team.botInstalled) } },
          el("div", { class: "team-head" }, el("span", { class: "team-name" }, team.name), toggle),
          channels,
          el("p", { class: "muted small" },
            `Members: ${team.members.map((member) => member.userPrincipalName).join(", ")}`)),
      );
    }
    $("team-empty").hidden = state.teams.length > 0;
    const select = $("enqueue-channel");
    const chosen = select.value;
    select.replaceChildren();
    for (const team of state.teams) {
      for (const channel of team.channels) {
        select.append(el("option", { value: channel.id, dataset: { teamId: team.id },
          selected: channel.id === chosen }, `${team.name} › ${channel.name || "General"}`));
      }
    }
    renderEnqueueAvailability();
  }

  async function newTeam() {
    const name = `Team ${Math.random().toString(36).slice(2, 6)}`;
    const result = await call("POST", `${CHANNEL}/teams`, { name, channels: ["Announcements"], members: 3 });
    if (!result.ok) note(`The team was not created: ${describeError(result)}`, true);
    await loadTeams();
    await loadConversations();
  }

  async function teamEvent(team, eventType) {
    const path = `${CHANNEL}/teams/${encodeURIComponent(team.id)}/events`;
    const result = await call("POST", path, { eventType });
    if (!result.ok) note(`The event did not reach the bot: ${describeError(result)}`, true);
    await loadTeams();
  }

  // ---------------------------------------------------------------- enqueue and receipts

  function renderEnqueueAvailability() {
    const conversation = currentConversation();
    const user = currentUser();
    const submit = $("enqueue-submit");
    const status = $("enqueue-status");
    if (state.queue && !state.queue.configured) {
      submit.disabled = true;
      setStatus(status, "Not available: the channel has no queue connection (start it with make run).", "bad");
      return;
    }
    const target = document.querySelector("#enqueue-form input[name='target']:checked")?.value;
    if (target === "upn" || target === "channel") {
      submit.disabled = false;
      if (status.textContent.startsWith("Start a conversation")) setStatus(status, "", null);
      return;
    }
    submit.disabled = !conversation || !user.id;
    if (!conversation) setStatus(status, "Start a conversation first: the bot can only message a conversation it knows.", null);
    else if (status.textContent.startsWith("Start a conversation")) setStatus(status, "", null);
  }

  function newMessageId() {
    const random = Math.random().toString(36).slice(2, 8);
    return `playground-${Date.now().toString(36)}-${random}`;
  }

  async function enqueue(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const status = $("enqueue-status");
    const conversation = currentConversation();
    const user = currentUser();
    const target = form.target.value;
    const upn = form.upn.value.trim();
    const channelOption = form.channel.selectedOptions[0];
    if (target === "upn" && !upn) {
      setStatus(status, "Write the user's principal name.", "bad");
      return;
    }
    if (target === "channel" && !channelOption) {
      setStatus(status, "Make a team first: its channels are listed here.", "bad");
      return;
    }
    if ((target === "conversation" || target === "user") && (!conversation || !user.id)) {
      setStatus(status, "Start a conversation first.", "bad");
      return;
    }
    const text = form.text.value.trim();
    if (!text) {
      setStatus(status, "Write the message text.", "bad");
      return;
    }
    const message = { version: 1, id: newMessageId() };
    const tenantId = (state.info && state.info.tenantId) || "";
    if (target === "upn") {
      message.user = { channelId: "msteams", tenantId, userPrincipalName: upn };
    } else if (target === "channel") {
      message.teamsChannel = { tenantId, teamId: channelOption.dataset.teamId, channelId: channelOption.value };
    } else if (target === "user") {
      message.user = { channelId: conversation.channelId, userId: user.id };
    } else {
      message.conversation = { channelId: conversation.channelId, conversationId: conversation.id };
      if (conversation.tenantId) message.conversation.tenantId = conversation.tenantId;
    }
    message.activities = [{ type: "message", text }];
    const delay = Number(form.delay.value) || 0;
    if (delay > 0) message.notBefore = new Date(Date.now() + delay * 1000).toISOString();
    $("enqueue-submit").disabled = true;
    const result = await call("POST", `${CHANNEL}/enqueue`, message);
    $("enqueue-submit").disabled = false;
    $("enqueue-json").textContent = JSON.stringify(message, null, 2);
    if (!result.ok) {
      setStatus(status, `Not enqueued: ${describeError(result)}`, "bad");
      return;
    }
    setStatus(status, `Enqueued ${message.id}${delay ? `, due in ${delay} s` : ""}. Watch the chat.`, "ok");
    status.dataset.messageId = message.id;
    state.receipts.unshift({
      id: message.id,
      target: {
        upn: `user ${upn}`,
        channel: `channel ${channelOption ? channelOption.textContent : ""}`,
        user: `user ${user.name}`,
      }[target] || `conversation ${shortId(conversation.id)}`,
      text,
      enqueuedAt: new Date().toISOString(),
      receipt: null,
    });
    state.receipts = state.receipts.slice(0, MAX_RECEIPTS);
    save();
    renderReceipts();
    soon("receipts", refreshReceipts, 400);
  }

  function receiptFinal(item) {
    return item.receipt && FINAL_STATUSES.has(item.receipt.status);
  }

  async function refreshReceipts() {
    clearTimeout(state.receiptTimer);
    const now = Date.now();
    const open = state.receipts.filter(
      (item) => !receiptFinal(item) && now - new Date(item.enqueuedAt).getTime() < RECEIPT_POLL_LIMIT_MS,
    );
    for (const item of state.receipts.slice(0, MAX_RECEIPTS)) {
      if (receiptFinal(item) && !open.includes(item)) continue;
      const result = await call("GET", `${BOT}/deliveries/${encodeURIComponent(item.id)}`);
      if (routeMissing(result)) {
        state.deliveriesAvailable = false;
        break;
      }
      state.deliveriesAvailable = true;
      if (result.ok) item.receipt = result.body;
    }
    save();
    renderReceipts();
    if (state.deliveriesAvailable && open.some((item) => !receiptFinal(item))) {
      state.receiptTimer = setTimeout(refreshReceipts, RECEIPT_POLL_MS);
    }
  }

  function renderReceipts() {
    const list = $("receipt-list");
    const noteNode = $("receipts-note");
    if (!state.deliveriesAvailable) {
      noteNode.textContent = "Not available: the bot has no /api/deliveries route.";
    } else if (state.receipts.length === 0) {
      noteNode.textContent = "Receipts of the messages this page puts on the queue appear here (GET /api/deliveries/{id}).";
    } else {
      noteNode.textContent = "Newest first; refreshed until each is final.";
    }
    list.replaceChildren(...state.receipts.map(receiptElement));
  }

  function receiptElement(item) {
    const receipt = item.receipt;
    const statusText = receipt ? receipt.status : "Queued";
    const kind = !receipt ? null : GOOD_STATUSES.has(receipt.status) ? "ok" : FINAL_STATUSES.has(receipt.status) ? "bad" : null;
    const details = [];
    if (receipt) {
      details.push(`${receipt.attempts ?? 0} attempt${receipt.attempts === 1 ? "" : "s"}`);
      if (receipt.activityIds?.length) details.push(`activities ${receipt.activityIds.join(", ")}`);
    } else {
      details.push(`enqueued ${timeOf(item.enqueuedAt)}; no receipt yet`);
    }
    const node = el("li", { class: "receipt", dataset: { deliveryId: item.id } },
      el("div", { class: "row" },
        el("span", { class: "mono" }, item.id),
        el("span", { class: "status", dataset: kind ? { state: kind } : {} }, statusText)),
      el("div", {}, `“${item.text}” → ${item.target}`),
      el("div", { class: "muted" }, details.join(" · ")));
    if (receipt?.lastError) {
      node.append(el("div", { class: "receipt-error" },
        `${receipt.lastError.code}: ${receipt.lastError.message}`));
    }
    return node;
  }

  // ---------------------------------------------------------------- header status

  async function refreshHealth() {
    const chip = $("status-bot");
    const result = await call("GET", `${BOT}/health`);
    if (result.ok) setStatus(chip, "Bot: healthy", "ok");
    else if (result.status === 503) {
      const body = result.body || {};
      const down = ["cosmos", "queue"].filter((name) => body[name]?.status === "down");
      setStatus(chip, `Bot: ${down.join(" and ") || "a service"} down`, "bad");
    } else if (result.status === 502 || result.status === 0) setStatus(chip, "Bot: not reachable", "bad");
    else setStatus(chip, `Bot: HTTP ${result.status}`, "warn");
    setTimeout(refreshHealth, HEALTH_POLL_MS);
  }

  function renderChannelStatus() {
    const auth = $("status-auth");
    if (!state.info) setStatus(auth, "Channel: not reachable", "bad");
    else if (state.info.authRequired) setStatus(auth, "Channel: signed tokens", "ok");
    else setStatus(auth, "Channel: no auth (BOT_AUTH_DISABLED)", "warn");
    auth.title = state.info ? `Bot endpoint ${state.info.botUrl}; channel ${state.info.channelId}` : "";
    const sample = $("status-sample");
    if (state.info && state.info.botSample) setStatus(sample, `Sample: ${state.info.botSample}`, "ok");
    else setStatus(sample, "Sample: unknown", null);
    sample.dataset.sample = state.info?.botSample || "";
    const queue = $("status-queue");
    if (!state.queue) setStatus(queue, "Queue: unknown", null);
    else if (state.queue.configured) setStatus(queue, `Queue: ${state.queue.queueName}`, "ok");
    else setStatus(queue, "Queue: not configured", "bad");
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("composer-text");
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      say(text);
    });
    $("user-select").addEventListener("change", (event) => {
      if (event.target.value) selectUser(event.target.value);
    });
    $("new-user-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("new-user-name");
      const name = input.value.trim();
      if (!name) return;
      input.value = "";
      $("new-user").open = false;
      await startConversation({ userName: name });
    });
    $("new-personal").addEventListener("click", () => {
      const user = currentUser();
      startConversation({ userId: user.id, userName: user.name, conversationType: "personal" });
    });
    $("new-group").addEventListener("click", () => {
      const user = currentUser();
      startConversation({ userId: user.id, userName: user.name, conversationType: "groupChat" });
    });
    $("enqueue-form").addEventListener("submit", enqueue);
    $("enqueue-form").addEventListener("change", renderEnqueueAvailability);
    $("new-team").addEventListener("click", newTeam);
    $("event-form").addEventListener("submit", sendEvent);
    $("schedule-form").addEventListener("submit", createSchedule);
    $("receipts-refresh").addEventListener("click", refreshReceipts);
    $("schedules-refresh").addEventListener("click", refreshSchedules);
    $("reference-refresh").addEventListener("click", refreshReference);
  }

  async function start() {
    restore();
    wire();
    const [info, queue] = await Promise.all([
      call("GET", `${CHANNEL}/info`),
      call("GET", `${CHANNEL}/enqueue`),
    ]);
    state.info = info.ok ? info.body : null;
    state.queue = queue.ok ? queue.body : null;
    renderChannelStatus();
    await loadConversations();
    await loadTeams();
    renderLog();
    connectEvents();
    refreshInspector();
    refreshHealth();
    if (state.receipts.some((item) => !receiptFinal(item))) refreshReceipts();
    document.body.dataset.loaded = "true";
  }

  start();
})();
