// carewatch screen: the sound of an unacknowledged critical alert. Plain JS, no build step.
// The tone is made with the Web Audio API: no audio file to fetch, nothing from the internet.
// Browsers keep audio locked until someone interacts with the page once, so while it is locked a banner
// says so and offers the click; the page reports its state in <body data-sound> (locked, on, playing,
// unavailable) for people and tests alike.
"use strict";

window.CarewatchSound = (function () {
  const CHIME_EVERY_MS = 1500; // a two-tone chime, then a pause: urgent, not a continuous siren
  const TONES = [[880, 0], [660, 0.32]]; // Hz, seconds into the chime (a falling pair reads as "alarm")
  const TONE_S = 0.28;
  const LOUD = 0.35; // gain: loud on a wall display, not clipping
  let audio = null; // the AudioContext, made once
  let wanted = false; // an unacknowledged critical alert is open
  let timer = null;
  let t = {};

  function context() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) {
      audio = new Ctx();
      audio.onstatechange = update; // the browser or the OS may suspend it again
    }
    return audio;
  }

  function tone(hz, at) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "triangle";
    osc.frequency.value = hz;
    // Ramps, not steps: a step in gain clicks, and a click is not an alarm.
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(LOUD, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + TONE_S);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + TONE_S + 0.02);
  }

  function chime() {
    if (!audio || audio.state !== "running") return update();
    const start = audio.currentTime + 0.02;
    TONES.forEach(([hz, offset]) => tone(hz, start + offset));
    const body = document.body;
    body.dataset.chimes = String(Number(body.dataset.chimes || 0) + 1); // counted, so a check can hear it
  }

  function state() {
    if (!context()) return "unavailable";
    if (audio.state !== "running") return "locked";
    return wanted ? "playing" : "on";
  }

  // One place decides what the page says and whether the chime runs, so they never disagree.
  function update() {
    const now = state();
    const playing = now === "playing";
    if (playing && !timer) {
      chime();
      timer = setInterval(chime, CHIME_EVERY_MS);
    } else if (!playing && timer) {
      clearInterval(timer);
      timer = null;
    }
    show(now);
  }

  function show(now) {
    document.body.dataset.sound = now;
    const banner = document.getElementById("sound-banner");
    const line = document.getElementById("sound-state");
    banner.hidden = now !== "locked";
    banner.classList.toggle("urgent", now === "locked" && wanted); // an alarm nobody can hear
    line.dataset.sound = now;
    line.hidden = now === "locked";
    const said = { on: "♪ " + t.sound_on, playing: "♫ " + t.sound_playing, unavailable: "✕ " + t.sound_none };
    line.textContent = said[now] || "";
  }

  function unlock() {
    const a = context();
    if (!a) return update();
    a.resume().then(update, update);
  }

  function init(texts) {
    t = texts;
    document.getElementById("sound-enable").addEventListener("click", unlock);
    // Any interaction counts: a nurse who clicks Acknowledge has unlocked the sound for the next alarm too.
    ["pointerdown", "keydown"].forEach((type) => document.addEventListener(type, () => {
      if (audio && audio.state !== "running") unlock();
    }));
    update();
  }

  function want(on) {
    if (on === wanted) return;
    wanted = on;
    update();
  }

  return { init, want };
})();
