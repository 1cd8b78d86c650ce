// Progressive enhancement only: save an answer the moment it is chosen, so a
// closed tab loses nothing. Without JavaScript, Next/Back save it instead.
// A locked questionnaire is shown without a form (nothing to save); if the
// study team locks it while this page is open, the save is refused (409) and
// the page is loaded again, which then says so.
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
        if (response.status === 409) { window.location.replace(window.location.href); }
      })
      .catch(function () { /* Next/Back will save it. */ });
  });
}());
