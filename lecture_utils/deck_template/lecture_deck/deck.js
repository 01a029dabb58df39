    // Fit the shown slide to the screen: a text block wider than the slide gets a smaller font;
    // figures take the height the text leaves them (at least FIGURE_FLOOR of the screen each); if
    // that is not enough, all sizes shrink together, in 5 % steps, never below FONT_FLOOR. A slide that still does not fit stays as it is, and the
    // deck check (tests/browser/test_decks.py) reports it.
    var FONT_FLOOR = 0.75, FIGURE_FLOOR = 0.4;

    function fits(slide) {
        return slide.scrollHeight <= SCREEN.height + 1 && slide.scrollWidth <= SCREEN.width + 1;
    }

    // a printed table or a code line wider than the slide: that block alone gets a smaller font
    function fitWidths(slide) {
        slide.querySelectorAll(".jp-RenderedText pre, div.highlight > pre").forEach(function (pre) {
            pre.style.removeProperty("--pre-scale");
            pre.classList.remove("deck-wrap");
            if (pre.scrollWidth <= pre.clientWidth + 1) return;
            var ratio = Math.max(FONT_FLOOR, 0.98 * pre.clientWidth / pre.scrollWidth);
            pre.style.setProperty("--pre-scale", ratio);
            if (pre.scrollWidth > pre.clientWidth + 1) pre.classList.add("deck-wrap");
        });
    }

    function layoutAt(slide, images, scale) {
        slide.style.setProperty("--deck-scale", scale);
        fitWidths(slide);
        if (!images.length) return;
        images.forEach(function (img) { img.style.maxHeight = "0px"; });
        var text = slide.scrollHeight;
        var each = Math.max(FIGURE_FLOOR * SCREEN.height, (SCREEN.height - text - 4) / images.length);
        images.forEach(function (img) { img.style.maxHeight = Math.floor(each) + "px"; });
    }

    function fitSlide(slide) {
        if (!slide) return;
        var images = Array.prototype.slice.call(slide.querySelectorAll("img"));
        var scale = 1;
        layoutAt(slide, images, scale);
        while (!fits(slide) && scale > FONT_FLOOR + 1e-6) {
            scale = Math.round((scale - 0.05) * 100) / 100;
            layoutAt(slide, images, scale);
        }
        slide.dataset.fitted = String(scale);
        Reveal.layout();
    }

    // MathJax typesets a slide when it is shown (its size is unknown before), then the slide is fitted
    function showSlide(slide) {
        if (!slide) return;
        delete slide.dataset.fitted;
        var images = Array.prototype.slice.call(slide.querySelectorAll("img"));
        var loaded = Promise.all(images.map(function (img) {
            return img.complete ? null : new Promise(function (done) { img.onload = img.onerror = done; });
        }));
        loaded.then(function () {
            if (window.MathJax && MathJax.Hub) {
                MathJax.Hub.Queue(["Rerender", MathJax.Hub, slide], [fitSlide, slide]);
            } else {
                fitSlide(slide);
            }
        });
    }

    window.Reveal = Reveal;
    window.lectureDeck = {fitSlide: fitSlide, FONT_FLOOR: FONT_FLOOR, FIGURE_FLOOR: FIGURE_FLOOR};
    Reveal.on("ready", function (event) { showSlide(event.currentSlide); });
    Reveal.on("slidechanged", function (event) { showSlide(event.currentSlide); });
    Reveal.on("resize", function () { showSlide(Reveal.getCurrentSlide()); });
    // an answer opened (or closed) changes the slide's height: fit it again
    document.addEventListener("toggle", function () { fitSlide(Reveal.getCurrentSlide()); }, true);
