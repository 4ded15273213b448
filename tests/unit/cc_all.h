/*
 * For the command center's tests and fuzz drivers only: every module
 * header of command-center/ (the program's own files include only what
 * each uses).
 */
#ifndef VM_CC_ALL_H
#define VM_CC_ALL_H

#include "access.h"
#include "model.h"
#include "config.h"
#include "validate.h"
#include "store.h"
#include "policy.h"
#include "roles.h"
#include "fleet.h"
#include "writer.h"
#include "http.h"
#include "dispatch.h"
#include "scheduler.h"
#include "metrics.h"
#include "app.h"
#include "routes.h"
#include "html.h"
#include "keys.h"
#include "history.h"
#include "queue.h"
#include "static.h"

#endif
