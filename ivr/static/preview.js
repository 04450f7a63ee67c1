/* The console's preview of the line: a keypad, typed words and a texting pane.
 *
 * Each key, words, silence or text goes to the server, which plays it against the line's
 * own webhooks (on a practice copy) and answers with the transcript of what the line does.
 * The page shows it, and speaks the line's words with the browser's speech synthesis, in
 * their language and at their rate, when the browser can. Nothing is downloaded.
 *
 * window.ivrPreview is a small hook for tests: `spoken` lists every utterance handed to the
 * speech synthesis ({text, lang, rate}), `steps` counts the answers shown, `speech` says
 * whether the browser can speak at all.
 */
(function () {
  "use strict";

  const root = document.getElementById("preview");
  if (!root) {
    return;
  }
  const $ = (id) => document.getElementById(id);
  const csrf = $("csrf").value;
  const speech = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;
  const hook = { spoken: [], steps: 0, speech: speech };
  window.ivrPreview = hook;
  let call = null; // the call between steps, as the server last sent it
  let texter = "+12035550100"; // a made-up number (555-01xx)
  let queue = Promise.resolve(); // one step at a time, in the order pressed

  if (!speech) {
    $("speak").checked = false;
    $("speak").disabled = true;
    $("speak-note").hidden = false;
  }

  function moment() {
    const choice = $("at-choice").value;
    return choice === "other" ? $("at-other").value : choice;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok || !data || data.error) {
      const why = data && data.error ? data.error : "The server answered " + response.status + ".";
      throw new Error(why);
    }
    return data;
  }

  function show(list, items) {
    for (const item of items) {
      const li = document.createElement("li");
      li.className = item.kind;
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = item.who + ": ";
      li.appendChild(who);
      li.appendChild(document.createTextNode(item.text));
      list.appendChild(li);
    }
  }

  function voiceFor(lang) {
    const voices = window.speechSynthesis.getVoices();
    return (
      voices.find((v) => v.lang === lang) ||
      voices.find((v) => v.lang.slice(0, 2) === lang.slice(0, 2)) ||
      null
    );
  }

  function speak(items) {
    if (!$("speak").checked) {
      return;
    }
    for (const item of items) {
      if (item.kind !== "say") {
        continue;
      }
      hook.spoken.push({ text: item.text, lang: item.lang, rate: item.rate });
      if (speech) {
        const utterance = new SpeechSynthesisUtterance(item.text);
        utterance.lang = item.lang;
        utterance.rate = item.rate;
        const voice = voiceFor(item.lang);
        if (voice) {
          utterance.voice = voice;
        }
        window.speechSynthesis.speak(utterance);
      }
    }
  }

  function hush() {
    // A key or words cut the prompt short, as on a real call (<Say> inside <Gather>).
    if (speech) {
      window.speechSynthesis.cancel();
    }
  }

  function problem(message) {
    $("problem").textContent = message;
    $("problem").hidden = !message;
  }

  function later(work) {
    queue = queue.then(work).catch((error) => problem(error.message));
  }

  function step(move, value) {
    hush();
    later(async () => {
      problem("");
      const body = { move: move, value: value || "", state: call, at: moment() };
      const data = await post(root.dataset.callUrl, body);
      call = data.state;
      $("call-status").textContent = data.status;
      $("clock").textContent = data.clock;
      show($("call-log"), data.items);
      speak(data.items);
      hook.steps += 1;
    });
  }

  function text(body) {
    later(async () => {
      problem("");
      const data = await post(root.dataset.textUrl, { body: body, from: texter, at: moment() });
      $("clock").textContent = data.clock;
      show($("text-log"), data.items);
      hook.steps += 1;
    });
  }

  $("call-start").addEventListener("click", () => step("call"));
  $("call-hangup").addEventListener("click", () => step("hangup"));
  $("silence").addEventListener("click", () => step("silence"));
  for (const key of root.querySelectorAll(".key")) {
    key.addEventListener("click", () => step("key", key.dataset.key));
  }
  // Typing a digit, * or # while on the keypad presses that key.
  root.querySelector(".keypad").addEventListener("keydown", (event) => {
    const key = root.querySelector('.key[data-key="' + CSS.escape(event.key) + '"]');
    if (key && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      key.focus();
      key.click();
    }
  });
  $("words-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const words = $("words").value;
    $("words").value = "";
    step(words.trim() ? "words" : "silence", words);
  });
  $("speak").addEventListener("change", () => {
    if (!$("speak").checked) {
      hush();
    }
  });
  $("at-other").addEventListener("input", () => {
    $("at-choice").value = "other";
  });
  $("text-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = $("text-body").value;
    if (!body.trim()) {
      problem("Type a message to send.");
      return;
    }
    $("text-body").value = "";
    text(body);
  });
  $("new-texter").addEventListener("click", () => {
    const next = 101 + Math.floor(Math.random() * 99);
    texter = "+12035550" + String(next);
    $("texter").textContent = "0" + String(next);
    show($("text-log"), [
      { kind: "note", who: "Preview", text: "Now texting as another person." },
    ]);
  });
})();
