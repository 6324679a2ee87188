/* The switch's state as JSON, for `ringvm switch ctl SOCK show`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "switch.h"

static struct json_object *u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static struct json_object *drops_obj(const uint64_t *drops)
{
	struct json_object *o = json_object_new_object();
	for (int d = 1; d < SW_DROP_NR; d++)
		json_object_object_add(o, sw_drop_name(d), u64(drops[d]));
	return o;
}

static struct json_object *vlan_list(const struct swp_vlan_cfg *c)
{
	struct json_object *a = json_object_new_array();
	if (c->mode == SWP_MODE_ACCESS) {
		json_object_array_add(a, json_object_new_int(c->vid));
		return a;
	}
	for (unsigned v = 1; v <= SWP_VID_MAX; v++)
		if (swp_vlan_allowed(c, v))
			json_object_array_add(a, json_object_new_int((int)v));
	return a;
}

static struct json_object *port_obj(const struct sw *s, const struct sw_port *p)
{
	struct json_object *o = json_object_new_object();
	bool access = p->cfg.mode == SWP_MODE_ACCESS;
	json_object_object_add(o, "id", json_object_new_int(p->id));
	json_object_object_add(o, "mode", json_object_new_string(
		access ? "access" : "trunk"));
	if (access)
		json_object_object_add(o, "vlan", json_object_new_int(p->cfg.vid));
	else
		json_object_object_add(o, "native", p->cfg.vid ?
				       json_object_new_int(p->cfg.vid) : NULL);
	json_object_object_add(o, "vlans", vlan_list(&p->cfg));
	json_object_object_add(o, "pid", json_object_new_int(p->pid));
	json_object_object_add(o, "rx_frames", u64(p->rx_frames));
	json_object_object_add(o, "rx_bytes", u64(p->rx_bytes));
	json_object_object_add(o, "tx_frames", u64(p->tx_frames));
	json_object_object_add(o, "tx_bytes", u64(p->tx_bytes));
	json_object_object_add(o, "rx_dropped", u64(p->rx_dropped));
	json_object_object_add(o, "tx_dropped", u64(p->tx_dropped));
	json_object_object_add(o, "macs", json_object_new_int(
		(int)mac_table_port_count(s->macs, p->id)));
	json_object_object_add(o, "learn_refused", u64(p->learn_refused));
	json_object_object_add(o, "drops", drops_obj(p->drops));
	return o;
}

/* VLANs with at least one member port, ascending. */
static struct json_object *vlans_obj(const struct sw *s)
{
	struct json_object *a = json_object_new_array();
	for (unsigned v = 1; v <= SWP_VID_MAX; v++) {
		struct json_object *members = NULL;
		for (unsigned i = 0; i < s->o.ports; i++) {
			const struct sw_port *p = &s->ports[i];
			if (p->state != SW_PORT_UP ||
			    sw_egress_action(&p->cfg, (uint16_t)v) == SW_EG_SKIP)
				continue;
			if (!members)
				members = json_object_new_array();
			json_object_array_add(members, json_object_new_int(p->id));
		}
		if (!members)
			continue;
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "vid", json_object_new_int((int)v));
		json_object_object_add(o, "ports", members);
		json_object_array_add(a, o);
	}
	return a;
}

struct mac_ctx {
	struct json_object *a;
	uint64_t now_ms;
};

static void mac_obj(void *opaque, const struct mac_entry *e)
{
	struct mac_ctx *c = opaque;
	char mac[18];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e->mac[0],
		 e->mac[1], e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "vlan", json_object_new_int(e->vid));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "port", json_object_new_int(e->port));
	json_object_object_add(o, "age_s",
			       u64((c->now_ms - e->last_seen_ms) / 1000));
	json_object_array_add(c->a, o);
}

static int mac_cmp(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a;
	struct json_object *y = *(struct json_object *const *)b;
	struct json_object *vx, *vy;
	json_object_object_get_ex(x, "vlan", &vx);
	json_object_object_get_ex(y, "vlan", &vy);
	int d = json_object_get_int(vx) - json_object_get_int(vy);
	if (d)
		return d;
	json_object_object_get_ex(x, "mac", &vx);
	json_object_object_get_ex(y, "mac", &vy);
	return strcmp(json_object_get_string(vx), json_object_get_string(vy));
}

struct json_object *sw_show_json(struct sw *s)
{
	uint64_t now = sw_now_ms();
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "socket", json_object_new_string(s->path));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uptime_s", u64((now - s->start_ms) / 1000));
	json_object_object_add(o, "max_ports", json_object_new_int((int)s->o.ports));
	json_object_object_add(o, "ageing_s", json_object_new_int((int)s->o.ageing_s));
	json_object_object_add(o, "max_macs", json_object_new_int((int)s->o.max_macs));
	json_object_object_add(o, "max_macs_per_port",
			       json_object_new_int((int)s->o.max_macs_per_port));

	struct json_object *ports = json_object_new_array();
	for (unsigned i = 0; i < s->o.ports; i++)
		if (s->ports[i].state == SW_PORT_UP)
			json_object_array_add(ports, port_obj(s, &s->ports[i]));
	json_object_object_add(o, "ports", ports);
	json_object_object_add(o, "vlans", vlans_obj(s));

	/* Aged entries are not shown even if the sweep has not run yet. */
	mac_table_expire(s->macs, now);
	struct mac_ctx mc = { json_object_new_array(), now };
	mac_table_foreach(s->macs, mac_obj, &mc);
	json_object_array_sort(mc.a, mac_cmp);
	json_object_object_add(o, "macs", mc.a);

	struct json_object *c = json_object_new_object();
	json_object_object_add(c, "rx_frames", u64(s->rx_frames));
	json_object_object_add(c, "forwarded", u64(s->forwarded));
	json_object_object_add(c, "flooded", u64(s->flooded));
	json_object_object_add(c, "filtered", u64(s->filtered));
	json_object_object_add(c, "dropped", u64(s->dropped));
	json_object_object_add(c, "learn_full", u64(mac_table_full_count(s->macs)));
	json_object_object_add(c, "learn_port_limit",
			       u64(mac_table_port_limit_count(s->macs)));
	json_object_object_add(c, "ports_refused", u64(s->ports_refused));
	json_object_object_add(c, "hello_failed", u64(s->hello_failed));
	json_object_object_add(c, "ctl_refused", u64(s->ctl_refused));
	json_object_object_add(c, "ctl_timeouts", u64(s->ctl_timeouts));
	json_object_object_add(c, "drops", drops_obj(s->drops));
	json_object_object_add(o, "counters", c);
	return o;
}
