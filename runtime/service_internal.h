/* SPDX-License-Identifier: MIT */
/* service_internal.h: what service.c (scheduling) and service_api.c (API, state) share. */
#ifndef BERTH_SERVICE_INTERNAL_H
#define BERTH_SERVICE_INTERNAL_H

#include "runtime/service.h"

void svc_event(struct rt_service *svc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct rt_deployment *svc_deployment(struct rt_service *svc, const char *id);
/* Makes a new PRIMARY deployment of taskdef_arn; the old primary becomes ACTIVE. */
void svc_new_deployment(struct rt_services *s, struct rt_service *svc, const char *taskdef_arn);
/* "Scaling activity initiated by (deployment ecs-svc/...)". */
const char *svc_stop_reason(const struct rt_deployment *d);
/* Tags a service task gets (propagated and ECS-managed); new reference. */
json_t *svc_task_tags(struct rt_services *s, const struct rt_service *svc,
		      const struct taskdef *td);
bool svc_task_has_checks(const struct taskdef *td);
int svc_count_active(struct rt_services *s, const char *cluster);
int svc_save(struct rt_services *s, struct rt_service *svc);
int svc_load(struct rt_services *s);
json_t *svc_tags_hook(struct runtime *rt, const char *arn);
int svc_save_hook(struct runtime *rt, const char *arn);

#endif
