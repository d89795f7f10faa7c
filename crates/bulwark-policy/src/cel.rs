//! The Kubernetes CEL environment shared by every CEL dialect (Kyverno `validate.cel` and
//! ValidatingPolicy, ValidatingAdmissionPolicy, Gatekeeper `K8sNativeValidation`): the
//! variables (`object`, `oldObject`, `request`, `params`, `namespaceObject`, `variables`) and
//! Kubernetes' CEL libraries, with cost limits.
