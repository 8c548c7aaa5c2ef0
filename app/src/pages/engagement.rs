//! A workflow's email engagement (owner/admin): the funnel sent → delivered → opened →
//! clicked with bounced, blocked and failed beside it, the last 30 days as a chart, and the
//! events themselves, filtered by kind.

use crate::components::error_panel::ErrorPanel;
use crate::components::shell::RoleGate;
use crate::components::time::RelativeTime;
use crate::model::{Role, EngagementEvent, EngagementQuery, EngagementSummary, ENGAGEMENT_EVENTS};
use crate::server_fns::engagement::{list_engagement, workflow_engagement};
use leptos::prelude::*;
use leptos_meta::Title;

/// What an event is called on the page.
fn label(event: &str) -> &'static str {
    match event.trim_start_matches("$workflows_email_") {
        "sent" => "Sent",
        "delivered" => "Delivered",
        "opened" => "Opened",
        "link_clicked" => "Clicked",
        "bounced" => "Bounced",
        "blocked" => "Blocked",
        "failed" => "Failed",
        _ => "Other",
    }
}

const FUNNEL: [&str; 4] = ["$workflows_email_sent", "$workflows_email_delivered", "$workflows_email_opened", "$workflows_email_link_clicked"];
const TROUBLE: [&str; 3] = ["$workflows_email_bounced", "$workflows_email_blocked", "$workflows_email_failed"];

#[component]
pub fn EngagementPage() -> impl IntoView {
    let org = super::org_param();
    let id = super::route_param("id");
    let summary = Resource::new(move || (org.get(), id.get()), |(org, id)| workflow_engagement(org, id));
    // One refusal for someone who may not see it, not one per panel.
    view! {
        <Title text="Engagement · Chronicle"/>
        <RoleGate min=Role::Admin>
        <section class="panel" aria-labelledby="engagement-title">
            <p class="breadcrumb"><a href=move || format!("/orgs/{}/workflows/{}", org.get(), id.get())>"← Back to the workflow"</a></p>
            <h1 id="engagement-title">"Email engagement"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading engagement…"</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok((summary, capturing)) => view! {
                            {(!capturing).then(|| view! {
                                <p class="notice" role="status">"This org does not record email engagement, so nothing new is counted here. "
                                    <a href=move || format!("/orgs/{}/settings", org.get())>"Turn it on in Settings"</a>"."</p>
                            })}
                            <Funnel summary=summary.clone()/>
                            <Daily summary/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <EventList org id/>
        </RoleGate>
    }
}

#[component]
fn Funnel(summary: EngagementSummary) -> impl IntoView {
    let count = |event: &str| summary.totals.iter().find(|(e, _)| e == event).map_or(0, |(_, n)| *n);
    let sent = count(FUNNEL[0]).max(1);
    let max = FUNNEL.iter().map(|e| count(e)).max().unwrap_or(0).max(1);
    // A narrow drawing, so its text stays readable when a phone scales it down.
    let (bar_h, gap, label_w, width) = (26, 10, 76, 400);
    let height = FUNNEL.len() as i64 * (bar_h + gap);
    let description = FUNNEL.iter().map(|e| format!("{} {}", label(e), count(e))).collect::<Vec<_>>().join(", ");
    view! {
        <h2>"Funnel"</h2>
        <div class="funnel">
            <svg class="chart" viewBox=format!("0 0 {width} {height}") role="img" aria-label=format!("Funnel: {description}")>
                {FUNNEL.iter().enumerate().map(|(i, event)| {
                    let n = count(event);
                    let y = i as i64 * (bar_h + gap);
                    let w = ((width - label_w - 110) as f64 * n as f64 / max as f64).round().max(if n > 0 { 2.0 } else { 0.0 });
                    let share = if i == 0 || count(FUNNEL[0]) == 0 { String::new() } else { format!(" ({:.0}% of sent)", 100.0 * n as f64 / sent as f64) };
                    view! {
                        <g class=format!("bar bar-{}", i)>
                            <text x="0" y=y + bar_h / 2 + 5 class="axis">{label(event)}</text>
                            <rect x=label_w y=y width=w height=bar_h rx="3"/>
                            <text x=label_w as f64 + w + 8.0 y=y + bar_h / 2 + 5 class="value">{format!("{n}{share}")}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
            <dl class="trouble">
                {TROUBLE.iter().map(|e| view! { <div><dt>{label(e)}</dt><dd>{count(e)}</dd></div> }).collect_view()}
            </dl>
        </div>
    }
}

/// The last 30 days: sent, opened and clicked per day.
#[component]
fn Daily(summary: EngagementSummary) -> impl IntoView {
    let days: Vec<String> = {
        let mut d: Vec<String> = summary.daily.iter().map(|(day, _, _)| day.clone()).collect();
        d.dedup();
        d
    };
    if days.is_empty() {
        return view! { <h2>"Over time"</h2><p class="empty-state">"No engagement in the last 30 days."</p> }.into_any();
    }
    let series = ["$workflows_email_sent", "$workflows_email_opened", "$workflows_email_link_clicked"];
    let at = |day: &str, event: &str| summary.daily.iter().find(|(d, e, _)| d == day && e == event).map_or(0, |(_, _, n)| *n);
    let max = summary.daily.iter().map(|(_, _, n)| *n).max().unwrap_or(1).max(1);
    let (width, height, left, bottom) = (400.0, 160.0, 30.0, 22.0);
    let slot = (width - left) / days.len() as f64;
    let bar = (slot / 4.0).min(14.0);
    let scale = |n: i64| (height - bottom - 8.0) * n as f64 / max as f64;
    view! {
        <h2>"Over time"</h2>
        <svg class="chart daily" viewBox=format!("0 0 {width} {height}") role="img" aria-label="Sent, opened and clicked per day, last 30 days">
            <text x="0" y="12" class="axis">{max}</text>
            <line x1=left y1=height - bottom x2=width y2=height - bottom class="baseline"/>
            {days.iter().enumerate().map(|(i, day)| {
                let x0 = left + i as f64 * slot + (slot - 3.0 * bar) / 2.0;
                view! {
                    <g>
                        {series.iter().enumerate().map(|(j, event)| {
                            let h = scale(at(day, event));
                            view! { <rect class=format!("bar-{}", [0, 2, 3][j]) x=x0 + j as f64 * bar y=height - bottom - h width=bar - 1.0 height=h>
                                <title>{format!("{day}: {} {}", at(day, event), label(event).to_lowercase())}</title></rect> }
                        }).collect_view()}
                        <text x=left + i as f64 * slot + slot / 2.0 y=height - 6.0 class="axis" text-anchor="middle">{day[5..].to_owned()}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
        <p class="legend"><span class="swatch bar-0"></span>"Sent "<span class="swatch bar-2"></span>"Opened "<span class="swatch bar-3"></span>"Clicked"</p>
    }
    .into_any()
}

#[component]
fn EventList(org: Memo<String>, id: Memo<String>) -> impl IntoView {
    let event = RwSignal::new(String::new());
    let pages = RwSignal::new(Vec::<EngagementEvent>::new());
    let cursor = RwSignal::new(None::<String>);
    let more = RwSignal::new(None::<String>);
    let query = move |cursor: Option<String>| EngagementQuery {
        workflow_id: Some(id.get()),
        event: Some(event.get()).filter(|e| !e.is_empty()),
        limit: Some(50),
        cursor,
    };
    let list = Resource::new(move || (org.get(), query(cursor.get())), |(org, q)| list_engagement(org, q));
    // A new filter starts over; a further page adds to what is shown.
    Effect::new(move |_| {
        event.track();
        cursor.set(None);
        pages.set(Vec::new());
    });
    view! {
        <section class="panel" aria-labelledby="events-title">
            <h2 id="events-title">"Events"</h2>
            <div class="filters">
                <label>"Event"
                    <select on:change=move |ev| event.set(event_target_value(&ev))>
                        <option value="">"All events"</option>
                        {ENGAGEMENT_EVENTS.iter().map(|e| view! { <option value=*e>{label(e)}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading events…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(page) => {
                            let mut shown = pages.get_untracked();
                            shown.extend(page.events);
                            more.set(page.next_cursor);
                            if shown.is_empty() {
                                return view! { <p class="empty-state">"No engagement events yet. They appear once this workflow's mail is sent, delivered, opened or clicked."</p> }.into_any();
                            }
                            view! {
                                <div class="table-scroll">
                                    <table class="table engagement">
                                        <thead><tr><th>"When"</th><th>"Event"</th><th>"Who (distinct id)"</th><th>"Recipient"</th><th>"Link"</th><th>"Source"</th><th>"Run"</th></tr></thead>
                                        <tbody>
                                            {shown.into_iter().map(|e| {
                                                let p = &e.properties;
                                                let text = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
                                                let run = e.execution_id.clone().map(|x| view! { <a href=format!("/orgs/{}/executions/{x}", org.get_untracked())>"View run"</a> });
                                                view! {
                                                    <tr>
                                                        <td><RelativeTime at=e.occurred_at.clone()/></td>
                                                        <td>{label(&e.event)}</td>
                                                        <td><code>{e.distinct_id.clone()}</code></td>
                                                        <td>{text("$email_to")}</td>
                                                        <td class="link-cell">{text("$link_url")}</td>
                                                        <td>{if text("$messaging_source") == "ses" { "SES" } else { "Chronicle" }}</td>
                                                        <td>{run}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            {move || more.get().map(|next| view! {
                <button type="button" on:click=move |_| {
                    // Keep what is shown, then ask for the page after it.
                    if let Some(Ok(page)) = list.get_untracked() {
                        pages.update(|p| p.extend(page.events));
                    }
                    cursor.set(Some(next.clone()));
                }>"Load more"</button>
            })}
        </section>
    }
}
