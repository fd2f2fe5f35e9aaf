package io.auraio.cli;

import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * Throughput, P99 latency and in-flight limit over time, one line per run, in three stacked panels of
 * a hand-written SVG (no plotting library).
 */
final class SvgPlot {
    private static final int WIDTH = 900;
    private static final int PANEL_HEIGHT = 200;
    private static final int LEFT = 80;
    private static final int RIGHT = 160;
    private static final int TOP = 56;
    private static final int GAP = 50;
    private static final String[] AURA_COLOURS = {"#1f77b4", "#4e9bd1", "#7fb8e0", "#aad0ec"};
    private static final String[] CHANNEL_COLOURS = {"#d62728", "#e6655f", "#f09a95", "#f7c4c1"};

    private SvgPlot() {}

    private record Panel(String title, String unit, ToDoubleFunction<RunResult.TimelinePoint> value) {}

    static String render(String title, List<RunResult> runs) {
        List<Panel> panels = List.of(
                new Panel("throughput", "IOPS", RunResult.TimelinePoint::iops),
                new Panel("p99 latency", "us", p -> p.p99Nanos() / 1e3),
                new Panel("in-flight limit (sum over rings)", "requests", p -> p.inFlightLimit()));
        int height = TOP + panels.size() * (PANEL_HEIGHT + GAP);
        double maxT = 0;
        for (RunResult r : runs) {
            for (RunResult.TimelinePoint p : r.timeline()) {
                maxT = Math.max(maxT, p.seconds());
            }
        }
        maxT = Math.max(maxT, 1e-3);
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>%n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n",
                WIDTH, height, WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"14\">%s</text>%n", LEFT, escape(title)));
        int plotWidth = WIDTH - LEFT - RIGHT;
        for (int pi = 0; pi < panels.size(); pi++) {
            Panel panel = panels.get(pi);
            int y0 = TOP + pi * (PANEL_HEIGHT + GAP);
            double maxV = 0;
            for (RunResult r : runs) {
                for (RunResult.TimelinePoint p : r.timeline()) {
                    maxV = Math.max(maxV, panel.value().applyAsDouble(p));
                }
            }
            maxV = maxV <= 0 ? 1 : maxV * 1.05;
            svg.append(String.format(Locale.ROOT, "<g>%n<text x=\"%d\" y=\"%d\">%s (%s)</text>%n", LEFT, y0 - 6,
                    escape(panel.title()), escape(panel.unit())));
            svg.append(String.format(Locale.ROOT,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>%n", LEFT, y0,
                    plotWidth, PANEL_HEIGHT));
            for (int tick = 0; tick <= 4; tick++) {
                double v = maxV * tick / 4;
                double y = y0 + PANEL_HEIGHT - PANEL_HEIGHT * tick / 4.0;
                svg.append(String.format(Locale.ROOT,
                        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                        LEFT, y, LEFT + plotWidth, y, LEFT - 4, y + 4, escape(axisLabel(v))));
                double t = maxT * tick / 4;
                double x = LEFT + plotWidth * tick / 4.0;
                svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.1fs</text>%n",
                        x, y0 + PANEL_HEIGHT + 14, t));
            }
            int aura = 0;
            int channel = 0;
            int legend = 0;
            for (RunResult r : runs) {
                boolean isAura = r.engine().equals(BenchRun.AURA);
                String colour = isAura ? AURA_COLOURS[aura++ % AURA_COLOURS.length]
                        : CHANNEL_COLOURS[channel++ % CHANNEL_COLOURS.length];
                StringBuilder points = new StringBuilder();
                for (RunResult.TimelinePoint p : r.timeline()) {
                    double v = panel.value().applyAsDouble(p);
                    if (v < 0) {
                        continue; // no in-flight limit for FileChannel
                    }
                    points.append(String.format(Locale.ROOT, "%.1f,%.1f ", LEFT + plotWidth * p.seconds() / maxT,
                            y0 + PANEL_HEIGHT - PANEL_HEIGHT * v / maxV));
                }
                if (points.isEmpty()) {
                    continue;
                }
                svg.append(String.format(Locale.ROOT,
                        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n", colour,
                        points.toString().trim()));
                int ly = y0 + 12 + 16 * legend++;
                svg.append(String.format(Locale.ROOT,
                        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/><text x=\"%d\" y=\"%d\">%s r%d</text>%n",
                        LEFT + plotWidth + 10, ly - 4, LEFT + plotWidth + 30, ly - 4, colour, LEFT + plotWidth + 36, ly,
                        escape(r.engine()), r.round()));
            }
            svg.append("</g>\n");
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String axisLabel(double v) {
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (v >= 1e3) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
