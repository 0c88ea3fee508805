import { stringify } from "yaml";
import { clusterDashboards, DashboardSpec, renderGrafanaDashboard } from "./dashboards";

/** Where Grafana reads provisioning (the official image's default) and our dashboards. */
export const GRAFANA_PROVISIONING_DIR = "/etc/grafana/provisioning";
export const GRAFANA_DASHBOARDS_DIR = `${GRAFANA_PROVISIONING_DIR}/dashboards/json`;
/** The Prometheus datasource's fixed uid, which the dashboards refer to. */
export const PROMETHEUS_DATASOURCE_UID = "hyperscaler-prometheus";

/** provisioning/datasources/hyperscaler.yml: the cluster's Prometheus, as the default; with its login and CA where it serves TLS. */
export function renderGrafanaDatasources(prometheusUrl: string, tls?: { user: string; password: string; ca: string }): string {
  return stringify({
    apiVersion: 1,
    datasources: [{
      name: "Prometheus", uid: PROMETHEUS_DATASOURCE_UID, type: "prometheus", access: "proxy", url: prometheusUrl, isDefault: true, editable: false,
      ...(tls ? {
        basicAuth: true, basicAuthUser: tls.user, jsonData: { tlsAuthWithCACert: true },
        secureJsonData: { basicAuthPassword: tls.password, tlsCACert: tls.ca },
      } : {}),
    }],
  });
}

/** provisioning/dashboards/hyperscaler.yml: load the JSON dashboards from GRAFANA_DASHBOARDS_DIR. */
export function renderGrafanaDashboardProvider(): string {
  return stringify({
    apiVersion: 1,
    providers: [{ name: "hyperscaler", folder: "hyperscaler", type: "file", disableDeletion: true, allowUiUpdates: false,
      updateIntervalSeconds: 30, options: { path: GRAFANA_DASHBOARDS_DIR } }],
  });
}

/** Every dashboard of the cluster as Grafana dashboard JSON, by file name in GRAFANA_DASHBOARDS_DIR. */
export function renderGrafanaDashboards(cluster: string, spec: DashboardSpec): Record<string, string> {
  return Object.fromEntries(clusterDashboards(spec).map((d) => [`${d.name}.json`, renderGrafanaDashboard(cluster, d, PROMETHEUS_DATASOURCE_UID)]));
}
