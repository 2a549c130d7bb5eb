// Where the plugins find the Kubernetes API: --kubeconfig when given (development, tests),
// else the pod's service account when running in a cluster. Outside a cluster and without a
// kubeconfig there is none, and the plugins run without the S3FileSystem records (the
// controller keeps its volume records in memory; the node reports no status).
//
// Kept free of @kubernetes/client-node imports (it costs ~0.5 s to load) so the commands can
// ask whether an API exists before loading the modules that use it.
export interface KubeSource {
  kubeconfig?: string;
  inCluster: boolean;
}

/** The API to use, or undefined when there is none (not in a cluster, no --kubeconfig). */
export function kubeSource(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeSource | undefined {
  if (kubeconfig) return { kubeconfig, inCluster: false };
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return { inCluster: true };
  return undefined;
}
