// Progressive enhancement only: save an answer the moment it is chosen, so a
// closed tab loses nothing. Without JavaScript, Next/Back save it instead.
(function () {
  "use strict";
  var form = document.querySelector("form.item");
  if (!form || !window.fetch || !window.FormData) { return; }
  var status = form.querySelector(".saved");
  form.addEventListener("change", function () {
    var data = new FormData(form);
    data.set("nav", "save");
    fetch(window.location.href, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 204 && status) { status.textContent = status.dataset.saved; }
      })
      .catch(function () { /* Next/Back will save it. */ });
  });
}());
