//! Kubernetes manifests: a Deployment (ready on `/readyz`, alive on
//! `/healthz`, a `preStop` pause so endpoints drop it before the drain, a
//! non-root read-only container), its Service and Ingress, a migration Job,
//! a PodDisruptionBudget, a HorizontalPodAutoscaler and a Secret template.
//! Static files are served by Keel here (collected into the image's
//! folder at start); put a CDN in front through KEEL_STATIC_URL.

use super::plan::Plan;
use super::File;

/// The files, one manifest each.
pub(super) fn files(plan: &Plan) -> Vec<File> {
    let host = plan.host();
    let replicas = plan.ports.len().max(2);
    let grace = plan.shutdown.as_secs() + 15;
    // /metrics on the pod's own (private) address, for Prometheus's pod
    // discovery; never on every interface.
    let metrics_port = plan.metrics.first().map(std::net::SocketAddr::port);
    let metrics_env = metrics_port.map_or_else(String::new, |port| {
        format!(
            "            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
            - name: KEEL_METRICS_BIND
              value: $(POD_IP):{port}
"
        )
    });
    let (annotations, metrics_ports) = metrics_port.map_or_else(Default::default, |port| {
        (
            format!(
                "      annotations:
        prometheus.io/scrape: \"true\"
        prometheus.io/port: \"{port}\"
        prometheus.io/path: /metrics
"
            ),
            format!(
                "            - name: metrics
              containerPort: {port}
"
            ),
        )
    });
    let container = format!(
        "      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: keel
          image: keel:latest
          envFrom:
            - secretRef:
                name: keel
          env:
            - name: KEEL_BIND
              value: 0.0.0.0:8000
            - name: KEEL_STATIC_ROOT
              value: /var/lib/keel/static
{metrics_env}          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [\"ALL\"]
          volumeMounts:
            - name: state
              mountPath: /var/lib/keel
            - name: tmp
              mountPath: /tmp
"
    );
    let volumes = "      volumes:
        - name: state
          emptyDir: {}
        - name: tmp
          emptyDir: {}
";
    let deployment = format!(
        "# Rendered by `keel deploy render`. Apply the Secret (filled in) first,
# then the migration Job, then the rest: kubectl apply -f kubernetes/
apiVersion: apps/v1
kind: Deployment
metadata:
  name: keel
  labels:
    app: keel
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: keel
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        app: keel
{annotations}    spec:
      terminationGracePeriodSeconds: {grace}
{container}          args: [\"serve\"]
          ports:
            - name: http
              containerPort: 8000
{metrics_ports}          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            failureThreshold: 3
          lifecycle:
            preStop:
              sleep:
                seconds: 5
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              memory: 512Mi
{volumes}"
    );
    let job = format!(
        "# Rendered by `keel deploy render`: migrations, before a new version serves.
apiVersion: batch/v1
kind: Job
metadata:
  name: keel-migrate
spec:
  backoffLimit: 3
  template:
    spec:
      restartPolicy: OnFailure
{container}          args: [\"migrate\"]
{volumes}"
    );
    let service = "# Rendered by `keel deploy render`.
apiVersion: v1
kind: Service
metadata:
  name: keel
spec:
  selector:
    app: keel
  ports:
    - name: http
      port: 80
      targetPort: http
"
    .to_owned();
    let ingress = format!(
        "# Rendered by `keel deploy render`. TLS from a Secret `keel-tls` (cert-manager makes one).
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: keel
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: \"{max_body}\"
    nginx.ingress.kubernetes.io/ssl-redirect: \"true\"
spec:
  tls:
    - hosts: [\"{host}\"]
      secretName: keel-tls
  rules:
    - host: \"{host}\"
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: keel
                port:
                  name: http
",
        max_body = plan.max_body,
    );
    let pdb = "# Rendered by `keel deploy render`: at most one instance down at a time.
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: keel
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: keel
"
    .to_owned();
    let hpa = format!(
        "# Rendered by `keel deploy render`.
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: keel
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: keel
  minReplicas: {replicas}
  maxReplicas: {max}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
",
        max = replicas * 4,
    );
    let secret = format!(
        "# Rendered by `keel deploy render`: fill in, then apply. Every other
# setting is in .env.example and may be added here.
apiVersion: v1
kind: Secret
metadata:
  name: keel
type: Opaque
stringData:
  KEEL_ENV: prod
  KEEL_PUBLIC_URL: \"{url}\"
  KEEL_SECRET_KEY: \"\"
  DATABASE_URL: \"\"
  KEEL_CACHE_URL: \"\"
  KEEL_EMAIL_URL: \"\"
  KEEL_SECURE_PROXY_SSL_HEADER: \"X-Forwarded-Proto: https\"
  KEEL_TRUSTED_PROXIES: \"10.0.0.0/8\"
",
        url = plan.public_url.as_str().trim_end_matches('/'),
    );
    vec![
        File::new("kubernetes/deployment.yaml", deployment),
        File::new("kubernetes/service.yaml", service),
        File::new("kubernetes/ingress.yaml", ingress),
        File::new("kubernetes/migrate-job.yaml", job),
        File::new("kubernetes/pdb.yaml", pdb),
        File::new("kubernetes/hpa.yaml", hpa),
        File::new("kubernetes/secret.yaml", secret),
    ]
}
