// Batch verification: upload with a progress bar through the JSON API; the plain form
// post (no JavaScript) works too.
(function () {
  var form = document.getElementById("batch-form");
  if (!form || !window.FormData) return;
  form.addEventListener("submit", function (ev) {
    if (form.querySelector("[name=download]").checked) return; // plain post returns the CSV
    ev.preventDefault();
    var bar = document.getElementById("batch-progress"), status = document.getElementById("batch-status");
    var data = new FormData();
    data.append("file", form.querySelector("[name=file]").files[0]);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/verify/batch");
    bar.hidden = false;
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = Math.round(50 * e.loaded / e.total); } };
    xhr.upload.onload = function () { bar.value = 50; status.textContent = "Verifying… 查验中"; };
    xhr.onload = function () {
      bar.value = 100;
      var body; try { body = JSON.parse(xhr.responseText); } catch (e) { status.textContent = "Error"; return; }
      if (xhr.status !== 200) { status.textContent = body.message + " " + JSON.stringify(body.fields || {}); return; }
      status.textContent = body.count + " rows: " + JSON.stringify(body.summary);
      var csv = "row,number,result,detail\n" + body.results.map(function (r) {
        return [r.row, r.number || "", r.result, '"' + String(r.detail || "").replace(/"/g, '""') + '"'].join(",");
      }).join("\n");
      var a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([csv], {type: "text/csv"}));
      a.download = "verification-results.csv"; a.textContent = " Download results 下载结果";
      status.appendChild(a);
    };
    xhr.send(data);
  });
})();
