/* core/v1 Service and Endpoints.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field core_Service_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("spec", 2, CORE(ServiceSpec), 0, "Desired behaviour of the service."),
    M("status", 3, CORE(ServiceStatus), 0,
      "Most recently observed state of the service, e.g. load balancer addresses."),
};
CORE_KIND(Service,
          "A stable virtual IP and DNS name that load-balances to the pods matched by a selector.");

static const struct sk_field core_ServiceSpec_fields[] = {
    ML("ports", 1, CORE(ServicePort), REP, "port", "merge", "Ports exposed by the service."),
    F("selector", 2, STRING, MAP,
      "Pods with these labels receive the traffic; without it, endpoints are managed externally."),
    F("clusterIP", 3, STRING, 0,
      "Virtual IP of the service; assigned if empty, \"None\" makes a headless service."),
    F("clusterIPs", 18, STRING, REP,
      "Virtual IPs of the service, one per IP family; first equals clusterIP."),
    F("type", 4, STRING, 0, "ClusterIP (default), NodePort, LoadBalancer or ExternalName."),
    F("externalIPs", 5, STRING, REP, "Extra IPs on which nodes accept traffic for this service."),
    F("sessionAffinity", 7, STRING, 0,
      "ClientIP pins each client to one backend; None (default) does not."),
    F("loadBalancerIP", 8, STRING, 0, "Deprecated: requested load balancer IP."),
    F("loadBalancerSourceRanges", 9, STRING, REP,
      "Client CIDRs allowed through a cloud load balancer."),
    F("externalName", 10, STRING, 0, "DNS name returned as a CNAME for type ExternalName."),
    F("externalTrafficPolicy", 11, STRING, 0,
      "Cluster (default) or Local: whether external traffic may go to other nodes' endpoints."),
    F("healthCheckNodePort", 12, INT, 0,
      "Node port answering health checks for externalTrafficPolicy Local."),
    F("publishNotReadyAddresses", 13, BOOL, 0, "Publish endpoints of pods that are not ready."),
    M("sessionAffinityConfig", 14, CORE(SessionAffinityConfig), PTR,
      "Settings of session affinity, e.g. its timeout."),
    F("ipFamilies", 19, STRING, REP, "IP families (IPv4, IPv6) of the service."),
    F("ipFamilyPolicy", 17, STRING, PTR, "SingleStack, PreferDualStack or RequireDualStack."),
    F("allocateLoadBalancerNodePorts", 20, BOOL, PTR,
      "Whether LoadBalancer services get node ports (default true)."),
    F("loadBalancerClass", 21, STRING, PTR,
      "Load balancer implementation that handles this service."),
    F("internalTrafficPolicy", 22, STRING, PTR,
      "Cluster (default) or Local: routing of traffic from inside the cluster."),
    F("trafficDistribution", 23, STRING, PTR,
      "Preference for routing to topologically close endpoints (PreferClose)."),
};
CORE_TYPE(ServiceSpec, "Desired behaviour of a service.");

static const struct sk_field core_ServicePort_fields[] = {
    F("name", 1, STRING, 0,
      "Name of the port, unique within the service; required with several ports."),
    F("protocol", 2, STRING, 0, "TCP (default), UDP or SCTP."),
    F("appProtocol", 6, STRING, PTR, "Application protocol hint, e.g. http or kubernetes.io/h2c."),
    F("port", 3, INT, REQ, "Port the service exposes."),
    F("targetPort", 4, INTORSTR, 0,
      "Port number or named container port on the pods; defaults to port."),
    F("nodePort", 5, INT, 0,
      "Port opened on every node for NodePort/LoadBalancer; allocated if empty."),
};
CORE_TYPE(ServicePort, "A port exposed by a service.");

static const struct sk_field core_ServiceStatus_fields[] = {
    M("loadBalancer", 1, CORE(LoadBalancerStatus), 0, "Load balancer addresses, if any."),
    ML("conditions", 2, META(Condition), REP, "type", "merge",
      "Current conditions of the service."),
};
CORE_TYPE(ServiceStatus, "Observed state of a service.");

static const struct sk_field core_SessionAffinityConfig_fields[] = {
    M("clientIP", 1, CORE(ClientIPConfig), PTR, "Settings of ClientIP session affinity."),
};
CORE_TYPE(SessionAffinityConfig, "Session affinity settings.");

static const struct sk_field core_ClientIPConfig_fields[] = {
    F("timeoutSeconds", 1, INT, PTR, "Seconds a ClientIP session stays sticky (default 10800)."),
};
CORE_TYPE(ClientIPConfig, "ClientIP session affinity settings.");

static const struct sk_field core_LoadBalancerStatus_fields[] = {
    M("ingress", 1, CORE(LoadBalancerIngress), REP, "Ingress points of the load balancer."),
};
CORE_TYPE(LoadBalancerStatus, "State of a load balancer.");

static const struct sk_field core_LoadBalancerIngress_fields[] = {
    F("ip", 1, STRING, 0, "IP of the load balancer ingress point."),
    F("hostname", 2, STRING, 0, "Hostname of the load balancer ingress point."),
    F("ipMode", 3, STRING, PTR, "VIP (default) or Proxy: how traffic reaches the node."),
    M("ports", 4, CORE(PortStatus), REP, "State of each service port."),
};
CORE_TYPE(LoadBalancerIngress, "An ingress point of a load balancer.");

static const struct sk_field core_PortStatus_fields[] = {
    F("port", 1, INT, REQ, "Port number."),
    F("protocol", 2, STRING, REQ, "TCP, UDP or SCTP."),
    F("error", 3, STRING, PTR, "Problem with the port, if any."),
};
CORE_TYPE(PortStatus, "Status of one service port.");

static const struct sk_field core_Endpoints_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("subsets", 2, CORE(EndpointSubset), REP, "Groups of addresses sharing the same ports."),
};
CORE_KIND(Endpoints, "Network addresses that currently implement a service.");

static const struct sk_field core_EndpointSubset_fields[] = {
    M("addresses", 1, CORE(EndpointAddress), REP, "Ready addresses."),
    M("notReadyAddresses", 2, CORE(EndpointAddress), REP,
      "Addresses not ready to receive traffic."),
    M("ports", 3, CORE(EndpointPort), REP, "Ports of the addresses."),
};
CORE_TYPE(EndpointSubset, "Addresses that all expose the same ports.");

static const struct sk_field core_EndpointAddress_fields[] = {
    F("ip", 1, STRING, REQ, "IP address."),
    F("hostname", 3, STRING, 0, "Hostname of the endpoint."),
    F("nodeName", 4, STRING, PTR, "Node hosting the endpoint."),
    M("targetRef", 2, CORE(ObjectReference), PTR, "Object providing the endpoint, usually a pod."),
};
CORE_TYPE(EndpointAddress, "A single endpoint IP.");

static const struct sk_field core_EndpointPort_fields[] = {
    F("name", 1, STRING, 0, "Name, matching the service port name."),
    F("port", 2, INT, REQ, "Port number."),
    F("protocol", 3, STRING, 0, "TCP, UDP or SCTP."),
    F("appProtocol", 4, STRING, PTR, "Application protocol hint."),
};
CORE_TYPE(EndpointPort, "A port of an endpoint.");
