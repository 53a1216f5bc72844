// Live timeline: new and grown stories arrive as Server-Sent Events from /live and are put at
// the top of the first page, rendered by the server (/fragment/story/<id>, filtered like the
// page). The page works without this file.
"use strict";
(function () {
  var stories = document.getElementById("stories");
  var notice = document.getElementById("live");
  if (!stories || !notice || !window.EventSource) { return; }
  var params = new URLSearchParams(window.location.search);
  if (params.has("cursor")) { return; }  // an older page stays as it is
  var source = new EventSource("/live?after=" + encodeURIComponent(notice.dataset.after || "$"));
  source.addEventListener("alert", function (message) {
    var story = JSON.parse(message.data).story;
    fetch("/fragment/story/" + encodeURIComponent(story) + "?" + params.toString(),
          { credentials: "same-origin" })
      .then(function (response) { return response.status === 200 ? response.text() : ""; })
      .then(function (html) {
        if (!html) { return; }
        var old = stories.querySelector('[data-story="' + CSS.escape(story) + '"]');
        if (old) { old.remove(); }
        var empty = stories.querySelector(".empty");
        if (empty) { empty.remove(); }
        stories.insertAdjacentHTML("afterbegin", html);
        stories.firstElementChild.classList.add("arrived");
      });
  });
})();
