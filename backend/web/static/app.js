// Batch verification: the form is posted in the background, with a progress bar (the upload,
// then the rows the server has verified, polled from /verify/batch/progress/<id>), and the
// page's own result table and messages are taken from the answer: the same page as the plain
// form post (no JavaScript) shows. A file over the size limit is refused before it is sent.
// The words come translated from the page: the form's data-text-* attributes.
(function () {
  var form = document.getElementById("batch-form");
  if (!form || !window.FormData || !window.DOMParser) return;
  var bar = document.getElementById("batch-progress"), status = document.getElementById("batch-status");
  var results = document.getElementById("batch-results"), lang = document.documentElement.lang || undefined;
  function text(name) { return form.getAttribute("data-text-" + name) || ""; }
  function say(text, bad) { status.textContent = text; status.classList.toggle("bad", !!bad); }
  function showMessages(doc) {
    document.querySelectorAll("main > .flash").forEach(function (f) { f.remove(); });
    var main = document.querySelector("main");
    doc.querySelectorAll("main > .flash").forEach(function (f) { main.insertBefore(document.importNode(f, true), main.firstChild); });
  }
  form.addEventListener("submit", function (ev) {
    if (form.querySelector("[name=download]").checked) return; // the plain post returns the CSV
    var file = form.querySelector("[name=file]").files[0];
    if (!file) return;
    ev.preventDefault();
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    if (file.size > maxBytes) {
      say(text("too-large"), true);
      return;
    }
    var id = "b" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10), polling = null;
    form.querySelector("[name=progress_id]").value = id;
    var data = new FormData(form), xhr = new XMLHttpRequest(), button = form.querySelector("button[type=submit]");
    xhr.open("POST", form.getAttribute("action") || window.location.pathname);
    xhr.responseType = "document";
    bar.hidden = false; bar.value = 0; button.disabled = true; results.innerHTML = "";
    say(text("uploading"));
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) bar.value = Math.round(20 * e.loaded / e.total);
    };
    xhr.upload.onload = function () {
      bar.value = 20; say(text("verifying"));
      polling = setInterval(function () {
        fetch("/verify/batch/progress/" + id, {credentials: "same-origin"}).then(function (r) {
          return r.ok ? r.json() : null;
        }).then(function (p) {
          if (!p || !p.total) return;
          bar.value = 20 + Math.round(80 * p.done / p.total);
          say(text("progress").replace("{done}", p.done.toLocaleString(lang))
                              .replace("{total}", p.total.toLocaleString(lang)));
        }).catch(function () {});
      }, 400);
    };
    function finish() { clearInterval(polling); button.disabled = false; bar.hidden = true; }
    xhr.onload = function () {
      finish();
      var doc = xhr.response, found = doc && doc.getElementById("batch-results");
      if (doc) showMessages(doc);
      if (found) results.innerHTML = found.innerHTML;
      if (xhr.status === 200 && found && found.querySelector("table")) {
        say(text("done"));
      } else if (doc && doc.querySelector("main > .flash")) {
        say("");
      } else {  // another page (rate limited, an error page): its heading and words
        var main = doc && doc.querySelector("main");
        say(main ? main.textContent.replace(/\s+/g, " ").trim() : text("failed"), true);
      }
    };
    xhr.onerror = function () {
      finish();
      say(text("upload-failed"), true);
    };
    xhr.send(data);
  });
})();

// Receivables: a confirm() before the destructive actions (forms with data-confirm), the
// split form's live check that the parts sum to the face value (submit disabled until the
// difference is zero), the finance forms' hints (advance ≤ outstanding, advance + fee ≤
// outstanding). Amounts are counted in fen, as integers; the server checks them all again.
(function () {
  function fen(text) {
    var m = /^(\d{1,13})(?:\.(\d{0,2}))?$/.exec(String(text || "").replace(/[,¥\s]/g, ""));
    return m ? parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10) : null;
  }
  function yuan(f) {
    var sign = f < 0 ? "-" : "", a = Math.abs(f);
    return sign + "¥" + String(Math.floor(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + ("0" + a % 100).slice(-2);
  }
  // the words come from the page (data-t-… attributes, in its language) with {name} placeholders
  function words(el, name, values) {
    return (el.getAttribute("data-t-" + name) || "").replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values || {}, key) ? values[key] : m;
    });
  }
  document.addEventListener("submit", function (ev) {
    var text = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (text && !window.confirm(text)) ev.preventDefault();
  }, true);

  var split = document.getElementById("form-split");
  if (split) {
    var total = parseInt(split.getAttribute("data-total"), 10), max = parseInt(split.getAttribute("data-max"), 10) || 8;
    var box = document.getElementById("split-parts"), out = document.getElementById("split-remaining");
    var submit = document.getElementById("split-submit"), add = document.getElementById("split-add");
    var check = function () {
      var parts = box.querySelectorAll(".split-part"), sum = 0, bad = false;
      parts.forEach(function (p, i) {
        var input = p.querySelector("input"), v = fen(input.value);
        p.querySelector(".split-index").textContent = i + 1;
        p.querySelector(".split-remove").disabled = parts.length <= 2;
        input.classList.toggle("invalid", v === null || v === 0);
        if (v === null || v === 0) bad = true; else sum += v;
      });
      var diff = total - sum;
      if (bad) out.textContent = words(split, "bad");
      else if (diff === 0) out.textContent = words(split, "equal", {total: yuan(total)});
      else if (diff > 0) out.textContent = words(split, "remaining", {amount: yuan(diff)});
      else out.textContent = words(split, "over", {amount: yuan(-diff)});
      out.setAttribute("data-remaining", bad ? "" : String(diff));
      submit.disabled = bad || diff !== 0 || parts.length < 2;
      add.hidden = parts.length >= max;
    };
    add.addEventListener("click", function (ev) {
      ev.preventDefault();
      var parts = box.querySelectorAll(".split-part");
      if (parts.length >= max) return;
      var part = parts[parts.length - 1].cloneNode(true);
      part.querySelector("input").value = "";
      box.appendChild(part);
      check();
      part.querySelector("input").focus();
    });
    box.addEventListener("click", function (ev) {
      if (!ev.target.classList.contains("split-remove")) return;
      if (box.querySelectorAll(".split-part").length > 2) ev.target.closest(".split-part").remove();
      check();
    });
    split.addEventListener("input", check);
    check();
  }

  document.querySelectorAll("form.finance-form").forEach(function (form) {
    var outstanding = parseInt(form.getAttribute("data-outstanding"), 10), out = form.querySelector(".finance-check");
    var check = function () {
      var advance = fen(form.querySelector("[name=advance]").value), fee = fen(form.querySelector("[name=fee]").value || "0");
      if (advance === null || fee === null) { out.textContent = words(form, "bad"); return; }
      var ok1 = advance <= outstanding, ok2 = advance + fee <= outstanding;
      out.textContent = words(form, "check", {mark1: ok1 ? "✓" : "✗", mark2: ok2 ? "✓" : "✗", outstanding: yuan(outstanding),
                                              sum: yuan(advance + fee), compare: ok2 ? "≤" : ">"});
      out.classList.toggle("bad", !(ok1 && ok2));
    };
    form.addEventListener("input", check);
    check();
  });
})();

// The inbox (收票箱): "select all on this page" and the count of the selected invoices; the
// export form takes the ticked boxes (form="inbox-export"). Without JavaScript each box is
// ticked by hand.
(function () {
  var all = document.getElementById("inbox-select-all");
  if (!all) return;
  var boxes = function () { return document.querySelectorAll("input.inbox-select"); };
  var count = document.getElementById("inbox-selected-count");
  var update = function () {
    var n = 0, total = 0;
    boxes().forEach(function (b) { total += 1; if (b.checked) n += 1; });
    all.checked = total > 0 && n === total;
    all.indeterminate = n > 0 && n < total;
    count.textContent = n ? (count.getAttribute("data-t-selected") || "{count}").replace("{count}", n) : "";
  };
  all.addEventListener("change", function () {
    boxes().forEach(function (b) { b.checked = all.checked; });
    update();
  });
  document.addEventListener("change", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("inbox-select")) update();
  });
  update();
})();
