//! Where a chart's threshold labels go: beside their line, never over
//! another label or a data line (a label box once covered the data just
//! where RocksDB dipped), else above the plot area. Pixel geometry only;
//! drawing is `plot`'s.

/// Where a threshold label was drawn, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LabelBox {
    pub(super) left: i32,
    pub(super) right: i32,
    pub(super) top: i32,
}

/// Height of a threshold label, pixels.
pub(super) const LABEL_HEIGHT: i32 = 15;

/// A drawn line segment, in pixels.
pub(super) type Segment = ((i32, i32), (i32, i32));

/// True when segment `s` passes through the box `[l, r] × [t, b]` (pixels).
pub(super) fn crosses(s: Segment, (l, t, r, b): (i32, i32, i32, i32)) -> bool {
    let ((x0, y0), (x1, y1)) = s;
    let (x0, y0, x1, y1) = (f64::from(x0), f64::from(y0), f64::from(x1), f64::from(y1));
    // Liang–Barsky: clip the segment's parameter range [0, 1] to the box.
    let (dx, dy) = (x1 - x0, y1 - y0);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, x0 - f64::from(l)),
        (dx, f64::from(r) - x0),
        (-dy, y0 - f64::from(t)),
        (dy, f64::from(b) - y0),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let u = q / p;
            if p < 0.0 {
                lo = lo.max(u);
            } else {
                hi = hi.min(u);
            }
            if lo > hi {
                return false;
            }
        }
    }
    true
}

/// Where to draw a threshold label of `width` for a line at pixel `line_y`
/// ending at `right`, inside the plot area from `left`, `top` to `bottom`: above
/// the line, else below it, moving left in steps — the first place that
/// overlaps no label in `placed` and no data line in `lines`. When no such
/// place exists the label goes above the plot area (`top` is its upper
/// edge), right-aligned, where no data is drawn. Returns (right edge, top,
/// above).
pub(super) fn place_label(
    placed: &[LabelBox],
    lines: &[Segment],
    (left, top, right, bottom): (i32, i32, i32, i32),
    line_y: i32,
    width: i32,
) -> (i32, i32, bool) {
    let clear = |r: i32, y: i32, data: bool| {
        let b = (r - width - 3, y, r + 2, y + LABEL_HEIGHT);
        placed.iter().all(|p| {
            r - width >= p.right
                || r <= p.left
                || y + LABEL_HEIGHT <= p.top
                || y >= p.top + LABEL_HEIGHT
        }) && (!data || !lines.iter().any(|s| crosses(*s, b)))
    };
    let above = line_y - 3 - LABEL_HEIGHT;
    let below = line_y + 3;
    let mut r = right;
    while r - width - 3 >= left {
        if above >= top && clear(r, above, true) {
            return (r, above, true);
        }
        if below + LABEL_HEIGHT <= bottom && clear(r, below, true) {
            return (r, below, false);
        }
        r -= 16;
    }
    // Above the plot area, beside the panel title: no data there.
    let mut y = top - 3 - LABEL_HEIGHT;
    while !clear(right, y, false) && y > top - 4 * LABEL_HEIGHT {
        y -= LABEL_HEIGHT;
    }
    (right, y, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: (i32, i32, i32, i32) = (80, 30, 800, 300);

    #[test]
    fn threshold_labels_close_together_do_not_overlap() {
        let first = place_label(&[], &[], AREA, 100, 150);
        assert_eq!(first, (800, 82, true), "above its line");
        let placed = [LabelBox {
            left: 650,
            right: 800,
            top: 82,
        }];
        // A line 8 px lower: below it.
        assert_eq!(place_label(&placed, &[], AREA, 108, 150), (800, 111, false));
        let placed = [
            placed[0],
            LabelBox {
                left: 650,
                right: 800,
                top: 111,
            },
        ];
        // A third line between them: left of both.
        let (right, _, _) = place_label(&placed, &[], AREA, 104, 150);
        assert!(right <= 650, "{right}");
    }

    /// Regression: a threshold label's box covered the data exactly where
    /// RocksDB dipped. A data line through the usual place moves the label.
    #[test]
    fn threshold_labels_never_cover_a_data_line() {
        let width = 150;
        let boxed = |(r, t, _): (i32, i32, bool)| (r - width - 3, t, r + 2, t + LABEL_HEIGHT);
        // A line dipping through both places beside the threshold at the right edge.
        let dip: Vec<Segment> = vec![((600, 60), (700, 120)), ((700, 120), (800, 60))];
        let at = place_label(&[], &dip, AREA, 100, width);
        assert!(!dip.iter().any(|s| crosses(*s, boxed(at))), "{at:?}");
        assert!(at.0 < 800, "moved left: {at:?}");
        // Lines everywhere along the threshold: above the plot area.
        let zigzag: Vec<Segment> = (80..800)
            .step_by(10)
            .map(|x| ((x, 60), (x + 10, 140)))
            .collect();
        let at = place_label(&[], &zigzag, AREA, 100, width);
        assert!(at.1 + LABEL_HEIGHT <= AREA.1, "above the plot: {at:?}");
        assert!(!zigzag.iter().any(|s| crosses(*s, boxed(at))));
        // The segment test itself.
        assert!(crosses(((0, 0), (10, 10)), (4, 4, 6, 6)));
        assert!(!crosses(((0, 0), (10, 0)), (4, 4, 6, 6)));
        assert!(crosses(((5, 5), (5, 5)), (4, 4, 6, 6)), "a lone point");
    }
}
