// Loads a KubeConfig for a KubeSource (config.ts): the file named by --kubeconfig, or the pod's
// service account token and CA when running in a cluster.
import * as k8s from '@kubernetes/client-node';
import type { KubeSource } from './config';

export function loadKubeConfig(source: KubeSource): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}
