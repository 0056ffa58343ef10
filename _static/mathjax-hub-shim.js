/* The ipywidgets HTML manager (_static/embed.js, @jupyter-widgets/html-manager 1.x, including
 * the latest) typesets widget labels with the MathJax 2 call
 *     if (window.MathJax !== undefined) MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]);
 * while the book loads MathJax 3, which has no MathJax.Hub: every widget with a description threw
 * "Cannot read properties of undefined (reading 'Queue')". This gives MathJax 3 the one piece of
 * MathJax.Hub that embed.js uses, mapped onto MathJax.typesetPromise.
 * MathJax 3 (a deferred script) replaces window.MathJax when it runs, so the Hub is attached
 * at DOMContentLoaded, after every deferred script and before embed.js draws the widgets on
 * window "load"; the order of this file among the page's scripts does not matter. */
(function () {
  "use strict";
  function typeset(element) {
    var mathjax = window.MathJax;
    if (!element || !mathjax || !mathjax.startup || !mathjax.startup.promise) return;
    mathjax.startup.promise
      .then(function () { return mathjax.typesetPromise([element]); })
      .catch(function (err) { console.warn("MathJax could not typeset a widget label:", err); });
  }
  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset") typeset(job[2]);
        else if (typeof job === "function") job();
      }
    }
  };
  function attach() {
    var mathjax = window.MathJax;
    if (mathjax && mathjax.version && /^3\./.test(mathjax.version) && !mathjax.Hub) mathjax.Hub = hub;
  }
  attach();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", attach);
})();
