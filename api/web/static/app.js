/* hazard-kb web app: the little the pages need beyond htmx (no build step, no dependencies). */
(function () {
  "use strict";
  // after a step of the interview: focus (and select) the field the server named, e.g. the name of an object just added
  function focusNamed(root) {
    var form = root && root.closest ? (root.id === "interview" ? root : root.closest("#interview")) : null;
    form = form || document.getElementById("interview");
    if (!form) return;
    var name = form.getAttribute("data-focus");
    if (!name) return;
    form.setAttribute("data-focus", "");
    var el = form.querySelector('[name="' + name.replace(/"/g, '\\"') + '"]');
    if (el) {
      el.scrollIntoView({block: "center"});
      el.focus();
      if (el.select) el.select();
    }
  }
  document.addEventListener("htmx:afterSettle", function (e) { focusNamed(e.target); });
  document.addEventListener("DOMContentLoaded", function () { focusNamed(document.getElementById("interview")); });
  // a failed step (network, server) is said, not swallowed
  document.addEventListener("htmx:responseError", function (e) {
    var box = document.getElementById("net-error");
    if (!box) {
      box = document.createElement("p");
      box.id = "net-error";
      box.className = "alert bad toast";
      box.setAttribute("role", "alert");
      document.body.appendChild(box);
    }
    box.textContent = "更新未成功（" + e.detail.xhr.status + "），请重试；已填写的内容仍在页面上。";
    setTimeout(function () { if (box.parentNode) box.parentNode.removeChild(box); }, 6000);
  });
  document.addEventListener("htmx:sendError", function () {
    var ev = new CustomEvent("htmx:responseError", {detail: {xhr: {status: "网络"}}});
    document.dispatchEvent(ev);
  });
})();
