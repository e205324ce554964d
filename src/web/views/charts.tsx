// Fleet's two charts over the last hour (uPlot: canvas, ~20 KB gzipped, fast with many
// points): tasks finished per minute by status, and the queue depth at each minute's end.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { ROUTES } from "../../protocol/routes.ts";
import { api } from "../api.ts";
import { usePoll } from "../util.ts";

interface Activity {
  minutes: number[];
  completed: number[];
  failed: number[];
  cancelled: number[];
  queued: number[];
}

function Chart({ title, data, series }: { title: string; data: uPlot.AlignedData; series: uPlot.Series[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    const width = () => Math.max(280, el.clientWidth);
    plot.current = new uPlot({ width: width(), height: 180, series: [{}, ...series], axes: [{}, { size: 40 }], legend: { live: false } }, data, el);
    const onResize = () => plot.current?.setSize({ width: width(), height: 180 });
    addEventListener("resize", onResize);
    return () => {
      removeEventListener("resize", onResize);
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => plot.current?.setData(data), [data]);
  return (
    <figure class="chart card">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}

export function ActivityCharts() {
  const [a, setA] = useState<Activity | null>(null);
  usePoll(async () => setA(await api<Activity>(ROUTES.monitorActivity)), 15_000, []);
  if (!a) return null;
  const x = a.minutes.map((m) => m / 1000);
  const finished = a.completed.reduce((n, v) => n + v, 0) + a.failed.reduce((n, v) => n + v, 0) + a.cancelled.reduce((n, v) => n + v, 0);
  return (
    <div class="charts" id="charts">
      <Chart
        title={`Tasks finished per minute (last hour: ${finished})`}
        data={[x, a.completed, a.failed, a.cancelled]}
        series={[
          { label: "completed", stroke: "#18794e", width: 2 },
          { label: "failed", stroke: "#b42318", width: 2 },
          { label: "cancelled", stroke: "#6b7280", width: 2 },
        ]}
      />
      <Chart
        title={`Queue depth (now: ${a.queued.at(-1) ?? 0})`}
        data={[x, a.queued]}
        series={[{ label: "waiting", stroke: "#1f5fbf", fill: "rgba(31,95,191,0.12)", width: 2 }]}
      />
    </div>
  );
}
